/**
 * The security headers every answer of a Stele Worker carries (errors included; a
 * WebSocket upgrade's are the runtime's): nothing is cached, sniffed, framed, or allowed to
 * run script, no referrer leaves, nothing is embedded cross-origin, and HTTPS is pinned where
 * it is served over HTTPS (OWASP Secure Headers Project; RFC 6797 for HSTS).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};
