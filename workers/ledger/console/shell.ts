/**
 * The console's HTML shell: no data, no inline script or style. The script and style sheet
 * are loaded from this origin and pinned by their SHA-384 (Subresource Integrity), so a page
 * served by this Worker runs exactly the code built with it (scripts/build-console.mjs).
 */
import { CONSOLE_CSS_INTEGRITY, CONSOLE_JS_INTEGRITY } from './dist/assets.js';

/**
 * How the page signs in: "access" when Cloudflare Access is configured here and let this
 * page's request through (it carried Cf-Access-Jwt-Assertion), so every /v1 call the page
 * makes carries the same sign-in and no token is asked for; "token" otherwise. It only
 * chooses what the page shows first: every /v1 call is still authenticated by the ledger.
 */
export type SignIn = 'access' | 'token';

/** The page, for one way of signing in. */
export function consoleHtml(signIn: SignIn): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="stele-sign-in" content="${signIn}">
<title>Stele console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console.css" integrity="${CONSOLE_CSS_INTEGRITY}">
<script src="/console.js" integrity="${CONSOLE_JS_INTEGRITY}" defer></script>
</head>
<body>
<a class="skip" id="skip" href="#/">Skip to the content</a>
<header id="top"><p class="brand">Stele console</p></header>
<main id="main" tabindex="-1">
<noscript><p>The console runs in your browser: it needs JavaScript. The same views are in the
<code>stele</code> command (docs/cli.md).</p></noscript>
</main>
</body>
</html>
`;
}
