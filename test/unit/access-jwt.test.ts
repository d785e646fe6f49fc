/**
 * Cloudflare Access tokens and role mapping: keys are generated here with WebCrypto (no
 * network), published as a JWKS shaped like Access's, and used to sign tokens; every way a
 * token or a config can be wrong must be refused with the right reason or field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessIdentity,
  type AccessJwtOptions,
  type AccessJwtReason,
  type AccessKeySet,
  accessCertsUrl,
  accessIssuer,
  parseJwks,
  verifyAccessJwt,
} from '../../src/access-jwt.js';
import { type AccessRule, accessGrant, parseAccessRoles } from '../../src/access-policy.js';
import { fromBase64, toBase64, utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import { scopeAllows } from '../../src/token.js';

const TEAM = 'myteam.cloudflareaccess.com';
const ISSUER = 'https://myteam.cloudflareaccess.com';
const AUD = '32eafc7626e974616deaf0dc3ce63d7bcbed58a2731e84d06bc3cdf1b53c4228';
const NOW = Date.UTC(2026, 10, 26, 13, 43);
const NOW_S = NOW / 1000;
const RSA_KID = '9338abe1baf2fe492f646a736f25afbf7b025e35c627be4f60c414d4c73069b8';
const EC_KID = 'ec-key-1';

const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, hash: 'SHA-256' };
const EC = { name: 'ECDSA', namedCurve: 'P-256' };

interface Signer {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  /** The public key as it appears in the JWKS. */
  jwk: JsonWebKey & { kid: string; use: string };
}

let rsa: Signer;
let ec: Signer;
let rsaImpostor: Signer;
let keys: AccessKeySet;
let opts: AccessJwtOptions;

async function newSigner(alg: 'RS256' | 'ES256', kid: string, bits = 2048): Promise<Signer> {
  const params =
    alg === 'RS256'
      ? { ...RSA, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) }
      : EC;
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return { alg, kid, privateKey: pair.privateKey, jwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** A JWKS shaped like the one at /cdn-cgi/access/certs, extra members included. */
function jwks(...jwk: unknown[]): string {
  const cert = {
    kid: RSA_KID,
    cert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  };
  return JSON.stringify({ keys: jwk, public_cert: cert, public_certs: [cert] });
}

function b64url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}

function unb64url(s: string): Uint8Array {
  const std = s.replaceAll('-', '+').replaceAll('_', '/');
  const bytes = fromBase64(std + '='.repeat((4 - (s.length % 4)) % 4));
  if (bytes === undefined) throw new Error(`test bug: ${s} is not base64url`);
  return bytes;
}

const part = (v: unknown) => b64url(utf8(JSON.stringify(v)));

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: [AUD],
    email: 'alice@example.com',
    exp: NOW_S + 300,
    iat: NOW_S - 10,
    nbf: NOW_S - 10,
    iss: ISSUER,
    type: 'app',
    identity_nonce: '6ei69kawdKzMIAPF',
    sub: '7335d417-61da-459d-899c-0a01c76a2f94',
    country: 'US',
    ...extra,
  };
}

async function sign(
  s: Signer,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = { alg: s.alg, kid: s.kid, typ: 'JWT' },
): Promise<string> {
  const input = `${part(header)}.${part(payload)}`;
  const algorithm = s.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : RSA;
  const sig = await crypto.subtle.sign(algorithm, s.privateKey, utf8(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Asserts the reason, and that the detail quotes no part of the token. */
async function expectRefused(
  name: string,
  token: string,
  reason: AccessJwtReason,
  o: AccessJwtOptions = opts,
): Promise<void> {
  const r = await verifyAccessJwt(token, o);
  expect(r.ok ? 'accepted' : r.error.reason, `${name}: reason`).toBe(reason);
  if (r.ok) return;
  for (const p of token.split('.')) {
    if (p.length >= 8) expect(r.error.detail, `${name}: detail echoes the token`).not.toContain(p);
  }
}

async function expectAccepted(name: string, token: string, o = opts): Promise<AccessIdentity> {
  const r = await verifyAccessJwt(token, o);
  if (!r.ok) throw new Error(`${name}: refused as ${r.error.reason} (${r.error.detail})`);
  return r.value;
}

beforeAll(async () => {
  [rsa, ec, rsaImpostor] = await Promise.all([
    newSigner('RS256', RSA_KID),
    newSigner('ES256', EC_KID),
    newSigner('RS256', RSA_KID),
  ]);
  keys = await parseJwks(jwks(rsa.jwk, ec.jwk));
  opts = { keys, audience: AUD, issuer: ISSUER, now: NOW };
});

describe('verifyAccessJwt', () => {
  it('accepts valid RS256 and ES256 tokens and returns the identity', async () => {
    const want = {
      sub: '7335d417-61da-459d-899c-0a01c76a2f94',
      email: 'alice@example.com',
      groups: [],
      exp: NOW_S + 300,
      iat: NOW_S - 10,
    };
    expect(await expectAccepted('RS256', await sign(rsa)), 'RS256 identity').toEqual(want);
    expect(await expectAccepted('ES256', await sign(ec)), 'ES256 identity').toEqual(want);
    const aud = await sign(rsa, claims({ aud: AUD }));
    expect((await expectAccepted('aud as a string', aud)).exp, 'aud string: exp').toBe(want.exp);
  });

  it('reads service tokens and groups claims', async () => {
    const service = await sign(ec, claims({ email: undefined, sub: '', common_name: 'ab.access' }));
    expect(await expectAccepted('service token', service), 'service identity').toEqual({
      sub: '',
      groups: [],
      commonName: 'ab.access',
      exp: NOW_S + 300,
      iat: NOW_S - 10,
    });
    const groups = ['sre', { id: 'g-1', name: 'auditors', email: 'a@x' }, { id: 'g-2' }];
    const withGroups = await sign(ec, claims({ groups }));
    expect((await expectAccepted('groups', withGroups)).groups, 'groups claim').toEqual([
      'sre',
      'auditors',
      'g-2',
    ]);
    for (const [name, bad] of [
      ['groups not an array', 'sre'],
      ['group of a number', [1]],
      ['group object without name or id', [{ email: 'a@x' }]],
      ['empty group name', ['']],
      ['257 groups', Array.from({ length: 257 }, (_, i) => `g${i}`)],
    ] as const) {
      await expectRefused(name, await sign(ec, claims({ groups: bad })), 'malformed');
    }
    for (const [name, extra] of [
      ['sub missing', { sub: undefined }],
      ['sub a number', { sub: 7 }],
      ['email without @', { email: 'alice' }],
      ['email with a space', { email: 'al ice@example.com' }],
      ['common_name empty', { common_name: '' }],
      ['exp a string', { exp: String(NOW_S + 300) }],
      ['iat negative', { iat: -1 }],
    ] as const) {
      await expectRefused(name, await sign(ec, claims(extra)), 'malformed');
    }
  });

  it('refuses expired tokens, within the leeway', async () => {
    await expectRefused('exp 61 s ago', await sign(rsa, claims({ exp: NOW_S - 61 })), 'expired');
    await expectRefused('exp missing', await sign(rsa, claims({ exp: undefined })), 'expired');
    const justIn = await sign(rsa, claims({ exp: NOW_S - 59 }));
    await expectAccepted('exp 59 s ago, leeway 60', justIn);
    await expectRefused('exp 59 s ago, leeway 0', justIn, 'expired', { ...opts, leewaySeconds: 0 });
    const atNow = await sign(rsa, claims({ exp: NOW_S }));
    await expectRefused('exp now, leeway 0', atNow, 'expired', { ...opts, leewaySeconds: 0 });
  });

  it('refuses tokens not yet valid, within the leeway', async () => {
    const nbf = await sign(ec, claims({ nbf: NOW_S + 120 }));
    await expectRefused('nbf in 120 s', nbf, 'not_yet_valid');
    const iat = await sign(ec, claims({ iat: NOW_S + 120 }));
    await expectRefused('iat in 120 s', iat, 'not_yet_valid');
    await expectAccepted('nbf in 30 s', await sign(ec, claims({ nbf: NOW_S + 30, iat: NOW_S })));
    await expectAccepted(
      'no nbf or iat',
      await sign(ec, claims({ nbf: undefined, iat: undefined })),
    );
  });

  it('refuses the wrong audience, as a string or an array', async () => {
    for (const [name, aud] of [
      ['string', 'another-app'],
      ['array', ['another-app', 'a-third-app']],
      ['empty array', []],
      ['missing', undefined],
      ['prefix', AUD.slice(0, 32)],
    ] as const) {
      await expectRefused(`aud ${name}`, await sign(rsa, claims({ aud })), 'wrong_audience');
    }
    await expectAccepted('aud in a longer array', await sign(rsa, claims({ aud: ['x', AUD] })));
  });

  it('refuses the wrong issuer', async () => {
    for (const iss of [
      'https://otherteam.cloudflareaccess.com',
      `${ISSUER}/`,
      'http://myteam.cloudflareaccess.com',
      'HTTPS://MYTEAM.CLOUDFLAREACCESS.COM',
      undefined,
    ]) {
      await expectRefused(`iss ${iss}`, await sign(rsa, claims({ iss })), 'wrong_issuer');
    }
  });

  it('checks the signature before any claim', async () => {
    const good = await sign(rsa);
    const [h, p, s] = good.split('.') as [string, string, string];
    const sig = unb64url(s);
    for (const i of [0, 100, sig.length - 1]) {
      const flipped = sig.slice();
      flipped[i] = (flipped[i] as number) ^ 1;
      await expectRefused(
        `signature byte ${i} flipped`,
        `${h}.${p}.${b64url(flipped)}`,
        'bad_signature',
      );
    }
    // A well-formed, expired, wrong-audience token signed by another key: the signature wins.
    const forged = await sign(rsaImpostor, claims({ exp: 1, aud: 'x' }));
    await expectRefused('another key with the same kid', forged, 'bad_signature');
    const swapped = `${h}.${part(claims({ email: 'mallory@example.com' }))}.${s}`;
    await expectRefused('payload swapped after signing', swapped, 'bad_signature');
    // Header alg and key alg must agree: an ES256 header naming the RSA key, and back.
    const confused = await sign(ec, claims(), { alg: 'ES256', kid: RSA_KID });
    await expectRefused('ES256 header with an RSA kid', confused, 'bad_signature');
    const confused2 = await sign(rsa, claims(), { alg: 'RS256', kid: EC_KID });
    await expectRefused('RS256 header with an EC kid', confused2, 'bad_signature');
    const ecToken = (await sign(ec)).split('.');
    const short = `${ecToken[0]}.${ecToken[1]}.${b64url(unb64url(ecToken[2] as string).slice(0, 63))}`;
    await expectRefused('ES256 signature of 63 bytes', short, 'bad_signature');
  });

  it('refuses an unknown kid', async () => {
    const other = await sign(rsa, claims(), { alg: 'RS256', kid: 'rotated-key' });
    await expectRefused('unknown kid', other, 'unknown_key');
  });

  it('refuses alg none, HS256 and headers it cannot honour', async () => {
    const body = part(claims());
    await expectRefused(
      'alg none, empty signature',
      `${part({ alg: 'none' })}.${body}.`,
      'malformed',
    );
    const none = `${part({ alg: 'none', kid: RSA_KID })}.${body}.${b64url(new Uint8Array(8))}`;
    await expectRefused('alg none with a kid', none, 'malformed');
    // HS256 keyed with the public key's text: the classic algorithm-confusion forgery.
    const secret = await crypto.subtle.importKey(
      'raw',
      utf8(JSON.stringify(rsa.jwk)),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const input = `${part({ alg: 'HS256', kid: RSA_KID })}.${body}`;
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', secret, utf8(input)));
    await expectRefused('alg HS256', `${input}.${b64url(mac)}`, 'malformed');
    for (const [name, header] of [
      ['alg rs256 (case)', { alg: 'rs256', kid: RSA_KID }],
      ['alg PS256', { alg: 'PS256', kid: RSA_KID }],
      ['no kid', { alg: 'RS256' }],
      ['empty kid', { alg: 'RS256', kid: '' }],
      ['kid a number', { alg: 'RS256', kid: 7 }],
      ['crit', { alg: 'RS256', kid: RSA_KID, crit: ['exp'] }],
    ] as const) {
      await expectRefused(name, await sign(rsa, claims(), header), 'malformed');
    }
  });

  it('accepts only strict base64url in three parts', async () => {
    const good = await sign(ec);
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases: [string, string][] = [
      ['two parts', `${h}.${p}`],
      ['extra dot', `${h}.${p}.${s}.`],
      ['four parts', `${h}.${p}.${s}.${s}`],
      ['empty', ''],
      ['padded header', `${h}=.${p}.${s}`],
      ['padded signature', `${h}.${p}.${s}==`],
      ['standard base64 "+"', `${h}.${p}.${s.slice(0, -2)}+${s.slice(-1)}`],
      ['standard base64 "/"', `${h}.${p}.${s.slice(0, -2)}/${s.slice(-1)}`],
      ['space', `${h}.${p}. ${s}`],
      ['newline', `${h}\n.${p}.${s}`],
      ['length 1 mod 4', `${h}.${p}.${s}${'A'.repeat((((1 - s.length) % 4) + 4) % 4 || 4)}`],
      ['header not JSON', `${b64url(utf8('{"alg":'))}.${p}.${s}`],
      ['header a JSON array', `${part(['RS256'])}.${p}.${s}`],
      ['payload a JSON string', `${h}.${part('alice')}.${s}`],
      ['payload not UTF-8', `${h}.${b64url(new Uint8Array([0x7b, 0xff, 0x7d]))}.${s}`],
      ['empty header', `.${p}.${s}`],
      ['empty signature', `${h}.${p}.`],
    ];
    for (const [name, token] of cases) await expectRefused(name, token, 'malformed');
    // A last character whose unused bits are set decodes to the same bytes; it must not pass.
    const last = s.slice(-1);
    const sameBytes = 'AEIMQUYcgkosw048'.includes(last)
      ? String.fromCharCode(last.charCodeAt(0) + 1)
      : null;
    if (sameBytes !== null) {
      await expectRefused(
        'non-zero unused bits',
        `${h}.${p}.${s.slice(0, -1)}${sameBytes}`,
        'malformed',
      );
    }
  });

  it('refuses oversize tokens without echoing them', async () => {
    const big = await sign(rsa, claims({ pad: 'x'.repeat(8 * 1024) }));
    await expectRefused('token over 8 KiB', big, 'malformed');
    const r = await verifyAccessJwt(big, opts);
    expect(!r.ok && r.error.detail.length < 100, 'oversize: detail is short').toBe(true);
  });

  it('refuses every truncation and one-character change of a valid token', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const [alg, signer] of [
      ['ES256', ec],
      ['RS256', rsa],
    ] as const) {
      const good = await sign(signer);
      for (let n = 0; n < good.length; n++) {
        const r = await verifyAccessJwt(good.slice(0, n), opts);
        expect(r.ok, `${alg}: truncation to ${n} characters accepted`).toBe(false);
      }
      for (let i = 0; i < good.length; i++) {
        const c = good[i] as string;
        const swap = c === '.' ? 'A' : (alphabet[(alphabet.indexOf(c) + 1) % 64] as string);
        const r = await verifyAccessJwt(good.slice(0, i) + swap + good.slice(i + 1), opts);
        expect(r.ok, `${alg}: character ${i} changed to ${swap} accepted`).toBe(false);
      }
    }
  });

  it('throws on bad options', async () => {
    const token = await sign(rsa);
    await expect(
      verifyAccessJwt(token, { ...opts, leewaySeconds: -1 }),
      'leeway -1',
    ).rejects.toThrow(RangeError);
    await expect(verifyAccessJwt(token, { ...opts, now: Number.NaN }), 'now NaN').rejects.toThrow(
      RangeError,
    );
    await expect(
      verifyAccessJwt(token, { ...opts, audience: '' }),
      'audience empty',
    ).rejects.toThrow(TypeError);
  });
});

/** Asserts that `run` throws (or rejects with) a FormatError of `format` naming `field`. */
async function expectFormatError(
  name: string,
  run: () => unknown,
  format: string,
  field: string,
): Promise<void> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error, `${name}: throws a FormatError`).toBeInstanceOf(FormatError);
  expect((error as FormatError).format, `${name}: format`).toBe(format);
  expect((error as FormatError).field, `${name}: field`).toBe(field);
}

describe('parseJwks', () => {
  it('reads an Access-shaped JWKS, ignoring other members', async () => {
    expect([...keys.keys()], 'kids').toEqual([RSA_KID, EC_KID]);
    expect(keys.get(RSA_KID)?.alg, 'RSA key alg').toBe('RS256');
    expect(keys.get(EC_KID)?.alg, 'EC key alg').toBe('ES256');
    const bare = { kty: 'RSA', kid: 'k', n: rsa.jwk.n, e: rsa.jwk.e, x5t: 'ignored' };
    expect((await parseJwks(jwks(bare))).get('k')?.alg, 'no alg or use: RS256').toBe('RS256');
  });

  it('refuses mangled documents, naming the field', async () => {
    const weak = await newSigner('RS256', 'weak', 1024);
    const priv = (await crypto.subtle.exportKey('jwk', ec.privateKey)) as JsonWebKey;
    const zeroN = b64url(new Uint8Array([0, ...unb64url(rsa.jwk.n as string)]));
    const cases: [string, string, string][] = [
      ['not JSON', '{"keys": [', 'jwks'],
      ['an array', `[${JSON.stringify(rsa.jwk)}]`, 'jwks'],
      ['no keys', JSON.stringify({ public_cert: {} }), 'keys'],
      ['empty keys', jwks(), 'keys'],
      [
        '33 keys',
        jwks(...Array.from({ length: 33 }, (_, i) => ({ ...ec.jwk, kid: `k${i}` }))),
        'keys',
      ],
      ['huge document', jwks(rsa.jwk).replace('{', `{"pad":"${'x'.repeat(64 * 1024)}",`), 'jwks'],
      ['key not an object', jwks('RSA'), 'keys[0]'],
      ['missing kid', jwks({ ...rsa.jwk, kid: undefined }), 'keys[0].kid'],
      ['empty kid', jwks({ ...rsa.jwk, kid: '' }), 'keys[0].kid'],
      ['kid with a space', jwks({ ...rsa.jwk, kid: 'a b' }), 'keys[0].kid'],
      ['kty oct', jwks({ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }), 'keys[0].k'],
      ['kty oct without k', jwks({ kty: 'oct', kid: 'h' }), 'keys[0].kty'],
      ['kty OKP', jwks({ kty: 'OKP', kid: 'h', crv: 'Ed25519', x: 'AA' }), 'keys[0].kty'],
      ['RSA with alg ES256', jwks({ ...rsa.jwk, alg: 'ES256' }), 'keys[0].alg'],
      ['RSA with alg RS384', jwks({ ...rsa.jwk, alg: 'RS384' }), 'keys[0].alg'],
      ['EC with alg RS256', jwks({ ...ec.jwk, alg: 'RS256' }), 'keys[0].alg'],
      ['use enc', jwks({ ...rsa.jwk, use: 'enc' }), 'keys[0].use'],
      ['private EC key', jwks({ ...priv, kid: 'p' }), 'keys[0].d'],
      ['1024-bit RSA', jwks(weak.jwk), 'keys[0].n'],
      ['n with a leading zero', jwks({ ...rsa.jwk, n: zeroN }), 'keys[0].n'],
      ['n padded', jwks({ ...rsa.jwk, n: `${rsa.jwk.n}=` }), 'keys[0].n'],
      ['e missing', jwks({ ...rsa.jwk, e: undefined }), 'keys[0].e'],
      ['EC P-384', jwks({ ...ec.jwk, crv: 'P-384' }), 'keys[0].crv'],
      ['EC x of 31 bytes', jwks({ ...ec.jwk, x: b64url(new Uint8Array(31)) }), 'keys[0].x'],
      [
        'EC point off the curve',
        jwks({ ...ec.jwk, y: b64url(new Uint8Array(32).fill(7)) }),
        'keys[0]',
      ],
      ['duplicate kid', jwks(rsa.jwk, { ...ec.jwk, kid: RSA_KID }), 'keys[1].kid'],
    ];
    for (const [name, text, field] of cases) {
      await expectFormatError(`jwks ${name}`, () => parseJwks(text), 'jwks', field);
    }
  });
});

describe('accessIssuer and accessCertsUrl', () => {
  it('derive the issuer and certs URL from a team domain or an origin', () => {
    expect(accessIssuer(TEAM), 'team domain').toBe(ISSUER);
    expect(accessIssuer('MyTeam.CloudflareAccess.com'), 'mixed case').toBe(ISSUER);
    expect(accessCertsUrl(TEAM), 'certs').toBe(`${ISSUER}/cdn-cgi/access/certs`);
    expect(accessIssuer(`${ISSUER}/`), 'https origin, trailing slash').toBe(ISSUER);
    expect(accessIssuer('http://127.0.0.1:9999'), 'local origin').toBe('http://127.0.0.1:9999');
    expect(accessCertsUrl('http://localhost:9999/'), 'local certs').toBe(
      'http://localhost:9999/cdn-cgi/access/certs',
    );
    expect(accessIssuer('http://[::1]:8787'), 'IPv6 loopback').toBe('http://[::1]:8787');
  });

  it('refuse anything else with a titled RangeError', () => {
    for (const bad of [
      '',
      'myteam',
      ' myteam.cloudflareaccess.com',
      'myteam.cloudflareaccess.com/',
      'myteam..cloudflareaccess.com',
      '-myteam.cloudflareaccess.com',
      'http://myteam.cloudflareaccess.com',
      'https://myteam.cloudflareaccess.com/cdn-cgi',
      'https://myteam.cloudflareaccess.com?x=1',
      'https://user@myteam.cloudflareaccess.com',
      'https://myteam.cloudflareaccess.com:99999',
      'https://myteam.cloudflareaccess.com:0',
      'ftp://myteam.cloudflareaccess.com',
      'https://',
    ]) {
      expect(() => accessIssuer(bad), `teamDomain ${JSON.stringify(bad)}`).toThrow(
        /^"teamDomain" /,
      );
      expect(() => accessCertsUrl(bad), `certs ${JSON.stringify(bad)}`).toThrow(RangeError);
    }
  });
});

describe('access roles', () => {
  const user = (email: string, groups: string[] = []): AccessIdentity => ({
    sub: 'u',
    email,
    groups,
    exp: NOW_S + 300,
  });
  const service = (commonName: string, groups: string[] = []): AccessIdentity => ({
    sub: '',
    commonName,
    groups,
    exp: NOW_S + 300,
  });
  let rules: AccessRule[];
  beforeAll(() => {
    rules = parseAccessRoles(
      JSON.stringify([
        { email: 'Alice@Example.com', role: 'admin', streams: ['*'] },
        { group: 'auditors', role: 'verifier', streams: ['prod-*'] },
        { email: '*@example.com', role: 'reader', streams: ['prod-*', 'staging-*'] },
        { common_name: '8f2c0a.access', role: 'writer', streams: ['deploys'] },
        { email: 'bob@partner.test', role: 'reader', streams: ['shared'] },
      ]),
    );
  });

  it('parses the documented shape', () => {
    expect(rules[3], 'common_name rule').toEqual({
      common_name: '8f2c0a.access',
      role: 'writer',
      streams: ['deploys'],
    });
  });

  it('gives the first matching rule', () => {
    expect(accessGrant(rules, user('alice@example.com')), 'alice: rule 0, not rule 2').toEqual({
      role: 'admin',
      streams: ['*'],
      rule: 0,
    });
    expect(accessGrant(rules, user('carol@example.com', ['auditors']))?.rule, 'group first').toBe(
      1,
    );
    expect(accessGrant(rules, user('carol@example.com'))?.rule, 'domain wildcard').toBe(2);
    const reversed = [...rules].reverse();
    expect(accessGrant(reversed, user('alice@example.com'))?.role, 'order decides').toBe('reader');
  });

  it('matches groups exactly', () => {
    const g = accessGrant(rules, user('dan@other.test', ['staff', 'auditors']));
    expect(g, 'group member').toEqual({ role: 'verifier', streams: ['prod-*'], rule: 1 });
    expect(accessGrant(rules, user('dan@other.test', ['Auditors'])), 'group case').toBeUndefined();
    expect(scopeAllows(g?.streams ?? [], 'prod-eu'), 'group grant scope').toBe(true);
    expect(scopeAllows(g?.streams ?? [], 'staging-eu'), 'group grant scope').toBe(false);
  });

  it('matches a whole domain only, ignoring case', () => {
    expect(accessGrant(rules, user('ERIN@EXAMPLE.COM'))?.rule, 'upper-case address').toBe(2);
    expect(accessGrant(rules, user('ALICE@example.COM'))?.rule, 'exact, other case').toBe(0);
    expect(accessGrant(rules, user('Bob@Partner.Test'))?.rule, 'exact, mixed case').toBe(4);
    for (const email of [
      'erin@sub.example.com',
      'erin@example.com.evil.test',
      'erin@notexample.com',
      'alice@example.co',
      'bob@partner.test.evil',
    ]) {
      expect(accessGrant(rules, user(email)), `no rule for ${email}`).toBeUndefined();
    }
    const all = parseAccessRoles('[{"email": "*", "role": "reader", "streams": ["*"]}]');
    expect(accessGrant(all, user('x@y.z'))?.rule, '"*" matches any user').toBe(0);
    expect(
      accessGrant(all, service('8f2c0a.access')),
      '"*" is not a service token',
    ).toBeUndefined();
  });

  it('matches service tokens by common_name only', () => {
    expect(accessGrant(rules, service('8f2c0a.access')), 'service token').toEqual({
      role: 'writer',
      streams: ['deploys'],
      rule: 3,
    });
    expect(accessGrant(rules, service('8f2c0a.access', ['auditors']))?.rule, 'no group rule').toBe(
      3,
    );
    expect(
      accessGrant(rules, service('other.access', ['auditors'])),
      'other token',
    ).toBeUndefined();
    expect(accessGrant(rules, service('8F2C0A.access')), 'common_name case').toBeUndefined();
    expect(accessGrant(rules, user('nobody@nowhere.test')), 'no match').toBeUndefined();
  });

  it('refuses bad configs, naming the field', async () => {
    const rule = { email: 'a@example.com', role: 'reader', streams: ['prod-*'] };
    const one = (r: unknown) => JSON.stringify([rule, r]);
    const cases: [string, string, string][] = [
      ['not JSON', '[{', 'access-roles'],
      ['an object', JSON.stringify(rule), 'access-roles'],
      ['empty array', '[]', 'access-roles'],
      ['257 rules', JSON.stringify(Array(257).fill(rule)), 'access-roles'],
      [
        'over 16 KiB',
        JSON.stringify([{ ...rule, group: undefined, pad: 'x'.repeat(16384) }]),
        'access-roles',
      ],
      ['rule not an object', one('reader'), 'rules[1]'],
      ['unknown member', one({ ...rule, expires: 1 }), 'rules[1].expires'],
      ['two selectors', one({ ...rule, group: 'sre' }), 'rules[1]'],
      ['no selector', one({ role: 'reader', streams: ['*'] }), 'rules[1]'],
      ['bad role', one({ ...rule, role: 'root' }), 'rules[1].role'],
      ['role missing', one({ ...rule, role: undefined }), 'rules[1].role'],
      ['empty streams', one({ ...rule, streams: [] }), 'rules[1].streams'],
      ['streams a string', one({ ...rule, streams: 'prod-*' }), 'rules[1].streams'],
      ['upper-case glob', one({ ...rule, streams: ['prod', 'Prod'] }), 'rules[1].streams[1]'],
      ['glob with a slash', one({ ...rule, streams: ['prod/eu'] }), 'rules[1].streams[0]'],
      ['email without @', one({ ...rule, email: 'alice' }), 'rules[1].email'],
      [
        'email with * in the local part',
        one({ ...rule, email: 'a*@example.com' }),
        'rules[1].email',
      ],
      ['email with * in the domain', one({ ...rule, email: '*@*.example.com' }), 'rules[1].email'],
      ['email with no domain', one({ ...rule, email: 'alice@' }), 'rules[1].email'],
      ['email with no local part', one({ ...rule, email: '@example.com' }), 'rules[1].email'],
      ['email with a space', one({ ...rule, email: 'al ice@example.com' }), 'rules[1].email'],
      ['email a number', one({ ...rule, email: 7 }), 'rules[1].email'],
      ['empty group', one({ group: '', role: 'reader', streams: ['*'] }), 'rules[1].group'],
      [
        'common_name a list',
        one({ common_name: ['x'], role: 'reader', streams: ['*'] }),
        'rules[1].common_name',
      ],
    ];
    for (const [name, text, field] of cases) {
      await expectFormatError(`roles ${name}`, () => parseAccessRoles(text), 'access-roles', field);
    }
  });

  it('grants a verified token end to end', async () => {
    const token = await sign(ec, claims({ email: 'Frank@example.com', groups: ['auditors'] }));
    const grant = accessGrant(rules, await expectAccepted('end to end', token));
    expect(grant, 'end to end grant').toEqual({ role: 'verifier', streams: ['prod-*'], rule: 1 });
  });
});
