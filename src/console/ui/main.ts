/**
 * The console in the browser (docs/console.md): a hash router over plain pages, each drawn
 * from the /v1 API with the user's credentials. No framework: nodes are built with dom.ts
 * and every value from the ledger is set as text.
 */
import { isAnyStreamName } from '../../entry.js';
import { formatHash, type Page, parseHash } from '../hash-route.js';
import { alertBox, h, replace } from './dom.js';
import { accessPage } from './pages/access.js';
import { destinationsPage } from './pages/destinations.js';
import { entryPage } from './pages/entry.js';
import { erasePage } from './pages/erase.js';
import { exportPage } from './pages/export.js';
import { keysPage } from './pages/keys.js';
import { searchPage } from './pages/search.js';
import { signInPage } from './pages/signin.js';
import { streamsPage } from './pages/streams.js';
import { tailPage } from './pages/tail.js';
import { tokensPage } from './pages/tokens.js';
import { ApiError, type Caller, caller, onSignedOut, signOut, token } from './session.js';
import { canRead, canVerify, type Render } from './view.js';

const PAGES: Record<Exclude<Page, 'signin'>, Render> = {
  streams: streamsPage,
  tail: tailPage,
  search: searchPage,
  entry: entryPage,
  export: exportPage,
  keys: keysPage,
  tokens: tokensPage,
  destinations: destinationsPage,
  erase: erasePage,
  access: accessPage,
};

/** The navigation: the pages the caller's role can use. */
function links(c: Caller): [Page, string][] {
  const out: [Page, string][] = [];
  if (canVerify(c)) out.push(['streams', 'Streams']);
  if (canRead(c)) out.push(['tail', 'Live tail'], ['search', 'Search'], ['export', 'Export']);
  out.push(['keys', 'Pinned keys']);
  if (c.role === 'admin') {
    if (c.everyStream) out.push(['tokens', 'Tokens'], ['destinations', 'Destinations']);
    out.push(['erase', 'Erasure'], ['access', 'Access trail']);
  }
  return out;
}

/** Pages only an admin sees (a reader never gets them, even by their address). */
const ADMIN_PAGES: readonly Page[] = ['tokens', 'destinations', 'erase', 'access'];
/** Admin pages for an admin scoped to `*` only (the ledger refuses a narrower scope). */
const EVERY_STREAM_PAGES: readonly Page[] = ['tokens', 'destinations'];

/**
 * How this page signs in (workers/ledger/console/shell.ts): "access" when Cloudflare Access
 * let the page through, so /v1 calls carry its sign-in and no token is needed.
 */
const SIGN_IN =
  document.querySelector('meta[name="stele-sign-in"]')?.getAttribute('content') === 'access'
    ? 'access'
    : 'token';

const main = document.getElementById('main') as HTMLElement;
const top = document.getElementById('top') as HTMLElement;
let who: Caller | undefined;
let current: AbortController | undefined;

function drawHeader(c: Caller | undefined, page: Page): void {
  const brand = h('p', { class: 'brand' }, 'Stele console');
  if (c === undefined) {
    replace(top, brand);
    return;
  }
  const nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h(
      'ul',
      {},
      links(c).map(([p, text]) =>
        h(
          'li',
          {},
          h('a', { href: formatHash(p), 'aria-current': p === page ? 'page' : undefined }, text),
        ),
      ),
    ),
  );
  const role = c.role === 'admin' && !c.everyStream ? 'admin (narrow scope)' : c.role;
  const out = h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: () => {
        const hadToken = token() !== undefined;
        signOut();
        who = undefined;
        // Signed in by Access alone: only Access can sign the browser out.
        if (!hadToken && SIGN_IN === 'access') location.assign('/cdn-cgi/access/logout');
        else showSignIn('Signed out.');
      },
    },
    'Sign out',
  );
  replace(top, brand, nav, h('p', { class: 'who' }, `Signed in as ${role}`, ' ', out));
}

function showSignIn(why?: string): void {
  current?.abort();
  drawHeader(undefined, 'signin');
  signInPage(main, why, async () => {
    who = undefined;
    const r = parseHash(location.hash);
    if (r.page === 'signin') location.hash = formatHash('streams');
    else await show();
  });
  focusTitle();
}

function focusTitle(): void {
  document.getElementById('page-title')?.focus();
}

/** Draws the page the address names. */
async function show(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = parseHash(location.hash);
  if (who === undefined) {
    // Without a token or Access there is nothing to ask the ledger with: the form, at once.
    if (token() === undefined && SIGN_IN !== 'access') {
      showSignIn();
      return;
    }
    try {
      who = await caller();
    } catch (e) {
      // A 401 has already shown the sign-in form (session.ts).
      if (e instanceof ApiError && e.status === 401) return;
      replace(main, alertBox(`The ledger could not be reached: ${(e as Error).message}`));
      return;
    }
  }
  if (controller.signal.aborted) return;
  if (route.page === 'signin') {
    location.replace(formatHash('streams'));
    return;
  }
  drawHeader(who, route.page);
  const denied =
    (ADMIN_PAGES.includes(route.page) && who.role !== 'admin') ||
    (EVERY_STREAM_PAGES.includes(route.page) && !who.everyStream) ||
    (['tail', 'search', 'entry', 'export'].includes(route.page) && !canRead(who));
  // A stream named in the address goes into /v1 paths: only a stream name is taken.
  const named =
    route.page === 'tail' || route.page === 'entry' ? route.args[0] : route.query.stream;
  if (named !== undefined && !isAnyStreamName(named)) {
    replace(
      main,
      h('h1', { tabindex: '-1', id: 'page-title' }, 'Not a stream'),
      alertBox(`"${named}" is not a stream name.`),
    );
    focusTitle();
    return;
  }
  if (denied) {
    replace(
      main,
      h('h1', { tabindex: '-1', id: 'page-title' }, 'Not available'),
      h('p', {}, `This page needs a role that a ${who.role} token does not have.`),
    );
    focusTitle();
    return;
  }
  try {
    await PAGES[route.page]({ main, route, caller: who, signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted || (e instanceof ApiError && e.status === 401)) return;
    main.append(alertBox(e instanceof Error ? e.message : String(e)));
  }
}

onSignedOut((why) => {
  who = undefined;
  showSignIn(
    `Signed out: the ledger refused the credentials (${why}). Sign in again, or with another token.`,
  );
});

// The skip link moves focus to the content without changing the address.
document.getElementById('skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  (document.getElementById('page-title') ?? main).focus();
});

window.addEventListener('hashchange', () => {
  void show().then(() => focusTitle());
});
void show();
