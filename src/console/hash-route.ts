/**
 * The console's addresses: every view is a hash route (`#/search?actor=u-42`), so a view can
 * be bookmarked and shared, and its query never reaches a server log (a fragment is not sent
 * in requests). Only the parameters a page declares are kept: a token or any other value can
 * never ride along in a shared address.
 *
 *   #/streams                       #/tail[/<stream>]?actor=&action=&outcome=
 *   #/search?stream=&actor=&...     #/entry/<stream>/<seq>
 *   #/export?stream=                #/keys            #/signin
 *   #/admin/tokens                  #/admin/erase?stream=&seqs=
 *   #/admin/destinations
 *   #/admin/access?actor=&action=&target=&outcome=&since=&until=&shard=
 */

export type Page =
  | 'signin'
  | 'streams'
  | 'tail'
  | 'search'
  | 'entry'
  | 'export'
  | 'keys'
  | 'tokens'
  | 'destinations'
  | 'erase'
  | 'access';

export interface Route {
  readonly page: Page;
  /** Path arguments: the stream of a tail; the stream and seq of an entry. */
  readonly args: readonly string[];
  /** The page's declared query parameters that were given (non-empty). */
  readonly query: Readonly<Record<string, string>>;
}

const SEARCH = [
  'stream',
  'actor',
  'action',
  'target',
  'outcome',
  'since',
  'until',
  'limit',
  'cursor',
];

/** Each page: its path, how many path arguments it takes, and its query parameters. */
const PAGES: Readonly<
  Record<Page, { path: string; args: number; minArgs?: number; query: readonly string[] }>
> = {
  signin: { path: 'signin', args: 0, query: [] },
  streams: { path: 'streams', args: 0, query: [] },
  tail: { path: 'tail', args: 1, minArgs: 0, query: ['actor', 'action', 'outcome'] },
  search: { path: 'search', args: 0, query: SEARCH },
  entry: { path: 'entry', args: 2, query: [] },
  export: { path: 'export', args: 0, query: ['stream'] },
  keys: { path: 'keys', args: 0, query: [] },
  tokens: { path: 'admin/tokens', args: 0, query: [] },
  destinations: { path: 'admin/destinations', args: 0, query: [] },
  erase: { path: 'admin/erase', args: 0, query: ['stream', 'seqs'] },
  access: {
    path: 'admin/access',
    args: 0,
    query: ['shard', 'actor', 'action', 'target', 'outcome', 'since', 'until', 'cursor'],
  },
};

/** The route of `location.hash`; anything unknown is the streams page. */
export function parseHash(hash: string): Route {
  const text = hash.startsWith('#/') ? hash.slice(2) : '';
  const q = text.indexOf('?');
  const path = (q < 0 ? text : text.slice(0, q)).split('/').map(decode);
  const params = new URLSearchParams(q < 0 ? '' : text.slice(q + 1));
  for (const [page, spec] of Object.entries(PAGES) as [Page, (typeof PAGES)[Page]][]) {
    const parts = spec.path.split('/');
    const extra = path.length - parts.length;
    if (extra < (spec.minArgs ?? spec.args) || extra > spec.args) continue;
    if (!parts.every((p, i) => path[i] === p)) continue;
    const args = path.slice(parts.length);
    if (args.some((a) => a === '')) continue;
    const query: Record<string, string> = {};
    for (const name of spec.query) {
      const v = params.get(name);
      if (v !== null && v !== '') query[name] = v;
    }
    return { page, args, query };
  }
  return { page: 'streams', args: [], query: {} };
}

/** The hash of a route: only its declared, non-empty query parameters, in declared order. */
export function formatHash(
  page: Page,
  args: readonly (string | number)[] = [],
  query: Readonly<Record<string, string | undefined>> = {},
): string {
  const spec = PAGES[page];
  const path = [spec.path, ...args.map((a) => encodeURIComponent(String(a)))].join('/');
  const params = new URLSearchParams();
  for (const name of spec.query) {
    const v = query[name];
    if (v !== undefined && v !== '') params.set(name, v);
  }
  const qs = params.toString();
  return `#/${path}${qs === '' ? '' : `?${qs}`}`;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
