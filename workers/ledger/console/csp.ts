/**
 * The console page's Content-Security-Policy (CSP Level 3): its own script and style only
 * (pinned by Subresource Integrity in the page), requests only to this origin (the /v1 API),
 * images only from itself or data: URLs, no inline script or style, no eval, no plugins, no
 * <base>, no form submitted anywhere (the token form is read by the script; without it a
 * form must not put the token in a URL), never framed, and no DOM sink fed a string as HTML
 * (Trusted Types with no policy: the console builds nodes and sets text, never markup).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');
