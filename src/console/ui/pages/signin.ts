/** Sign-in: a token for this tab, or Cloudflare Access (nothing to type). */
import { alertBox, field, h, heading, replace } from '../dom.js';
import { ApiError, caller, signIn } from '../session.js';

export function signInPage(main: HTMLElement, why: string | undefined, done: () => Promise<void>) {
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const t = input.value.trim();
        input.value = '';
        if (t === '') return;
        signIn(t);
        try {
          await caller();
        } catch (err) {
          // A 401 has signed out again and redrawn this form with the reason.
          if (!(err instanceof ApiError && err.status === 401))
            form.append(alertBox((err as Error).message));
          return;
        }
        await done();
      },
    },
    field(
      'Token',
      input,
      'Kept in this browser tab only (sessionStorage) and sent only to this ledger, never in an address.',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  replace(
    main,
    heading('Sign in'),
    why === undefined ? null : alertBox(why),
    h(
      'p',
      {},
      'Behind Cloudflare Access you are signed in by your organisation: reload the page. ',
      'Otherwise, paste a token (stl_…, or the ADMIN_TOKEN that npm start printed). ',
      'Everything you open here is read with your credentials and recorded in _access, as any read is.',
    ),
    form,
  );
}
