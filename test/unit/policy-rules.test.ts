/**
 * Witness policies (c2sp.org/tlog-policy, src/policy.ts) rule by rule: each log, witness,
 * group and quorum line with the line number and the rule of its rejection, counts and sizes
 * at their bounds, names used before they are defined or defined twice, duplicate keys and
 * URLs, and the quorum each policy asks for.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  formatVerifierKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import {
  MAX_POLICY_ENTRIES,
  MAX_POLICY_SIZE,
  type PolicyOptions,
  parsePolicy,
  quorumMet,
  quorumThreshold,
} from '../../src/policy.js';
import { expectRejected } from '../helpers/format-error.js';

/** The Ed25519 public key of test seed `n` (not a secret). */
const publicKey = (n: number) => {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, n + 1);
  return ed25519.getPublicKey(seed);
};
const logVkey = (n: number) =>
  formatVerifierKey({ name: `log${n}.example`, type: SIG_TYPE_ED25519, publicKey: publicKey(n) });
const witnessVkey = (n: number, name = `w${n}.example`) =>
  formatVerifierKey({ name, type: SIG_TYPE_COSIGNATURE_V1, publicKey: publicKey(1000 + n) });

const L0 = logVkey(0);
const L1 = logVkey(1);
const K0 = witnessVkey(0);
const K1 = witnessVkey(1);
const K2 = witnessVkey(2);
const K3 = witnessVkey(3);

/** Parses the lines joined by newlines. */
const policy = (lines: readonly string[], options?: PolicyOptions) =>
  parsePolicy(lines.join('\n'), options);
const rejects = (
  label: string,
  lines: readonly string[],
  field: string,
  rule: string,
  options?: PolicyOptions,
) => expectRejected(label, () => policy(lines, options), { format: 'tlog-policy', field, rule });

describe('a policy parses into exactly its lines', () => {
  const lines = [
    `log ${L0}`,
    `log ${L1} https://log1.example/`,
    `witness W0 ${K0} https://w0.example/add`,
    `witness W1 ${K1}`,
    'group G any W0 W1',
    'group H all G W1',
    'quorum H',
  ];

  it('logs, witnesses, groups and quorum, with URLs only where given', () => {
    expect(policy(lines), 'the parsed policy').toStrictEqual({
      logs: [
        { vkey: L0, key: parseVerifierKey(L0) },
        { vkey: L1, key: parseVerifierKey(L1), url: 'https://log1.example/' },
      ],
      witnesses: [
        { name: 'W0', vkey: K0, key: parseVerifierKey(K0), url: 'https://w0.example/add' },
        { name: 'W1', vkey: K1, key: parseVerifierKey(K1) },
      ],
      groups: [
        { name: 'G', threshold: 1, members: ['W0', 'W1'] },
        { name: 'H', threshold: 2, members: ['G', 'W1'] },
      ],
      quorum: 'H',
    });
  });

  it('blank lines, comments, indentation, tabs and trailing comments change nothing', () => {
    const spaced = [
      '',
      '# a comment naming no quorum',
      `  log ${L0}  `,
      '   ',
      '\t',
      `log\t${L1}\thttps://log1.example/ # the second log`,
      '  # an indented comment',
      `\twitness  W0 ${K0}   https://w0.example/add#a comment from the hash on, even inside a URL`,
      `witness W1 ${K1}#`,
      'group G any W0 W1',
      '',
      'group H all G W1',
      'quorum H # the top',
      '',
    ];
    expect(policy(spaced), 'the same policy').toStrictEqual(policy(lines));
  });

  it('a quorum in a comment is no quorum', () => {
    rejects(
      'only a commented quorum',
      ['# quorum none', `  # quorum none`],
      'policy',
      'policy file must define a quorum',
    );
  });
});

describe('size and count bounds', () => {
  it(`a policy of ${MAX_POLICY_SIZE} characters parses; one more is refused`, () => {
    const sized = (n: number) => {
      const head = 'quorum none\n#';
      return `${head}${'x'.repeat(n - head.length)}`;
    };
    expect(sized(MAX_POLICY_SIZE).length, 'premise').toBe(MAX_POLICY_SIZE);
    expect(parsePolicy(sized(MAX_POLICY_SIZE)).quorum, 'at the limit').toBe('none');
    expectRejected('one character over', () => parsePolicy(sized(MAX_POLICY_SIZE + 1)), {
      format: 'tlog-policy',
      field: 'policy',
      rule: 'must be at most 65536 characters',
    });
  });

  it(`${MAX_POLICY_ENTRIES} log, witness and group lines in all are allowed; one more is not`, () => {
    // 50 logs, 100 witnesses, 106 groups: each kind counts toward the one bound.
    const entries = [
      ...Array.from({ length: 50 }, (_, i) => `log ${logVkey(i)}`),
      ...Array.from({ length: 100 }, (_, i) => `witness W${i} ${witnessVkey(i)}`),
      ...Array.from({ length: 106 }, (_, i) => `group G${i} any W${i % 100}`),
    ];
    expect(entries.length, 'premise').toBe(MAX_POLICY_ENTRIES);
    const full = policy([...entries, 'quorum G0']);
    expect([full.logs.length, full.witnesses.length, full.groups.length], 'at the bound').toEqual([
      50, 100, 106,
    ]);
    const rule = 'the policy must have at most 256 log, witness and group lines';
    for (const extra of [`log ${logVkey(50)}`, `witness X ${witnessVkey(100)}`, 'group X any W0']) {
      rejects(
        `257th line: ${extra.split(' ')[0]}`,
        [...entries, extra, 'quorum G0'],
        'line 257',
        rule,
      );
    }
    rejects(
      'the quorum before the 257th line',
      [...entries, 'quorum G0', 'group X any W0'],
      'line 258',
      rule,
    );
  });

  it('control characters other than tab and newline are refused', () => {
    for (const c of ['\u0000', '\u0008', '\u000b', '\u000c', '\r', '\u001f', '\u007f']) {
      const code = c.charCodeAt(0).toString(16);
      rejects(
        `U+${code}`,
        [`witness W0 ${K0}${c}`, 'quorum W0'],
        'policy',
        'must not contain control characters other than tab and newline',
      );
    }
  });
});

describe('log lines', () => {
  it('take a vkey and an optional URL', () => {
    const rule = 'must be "log <vkey> [<url>]"';
    rejects('no vkey', ['log', 'quorum none'], 'line 1', rule);
    rejects('three fields', [`log ${L0} https://a.example/ extra`, 'quorum none'], 'line 1', rule);
  });

  it('must be Ed25519 keys, each once', () => {
    rejects(
      'a cosignature/v1 key',
      [`log ${K0}`, 'quorum none'],
      'line 1',
      'log keys must be Ed25519 (type 0x01)',
    );
    rejects(
      'not a key',
      ['quorum none', 'log nope'],
      'line 2',
      'invalid vkey: must be <name>+<hex8 key ID>+<base64 key>',
    );
    rejects(
      'the same log twice',
      [`log ${L0}`, `log ${L1}`, `log ${L0}`, 'quorum none'],
      'line 3',
      'duplicate log key',
    );
    rejects(
      'the same log twice, with duplicate witness keys allowed',
      [`log ${L0}`, `log ${L0}`, 'quorum none'],
      'line 2',
      'duplicate log key',
      { duplicateWitnessKeys: 'allow' },
    );
  });
});

describe('witness lines', () => {
  it('take a name, a vkey and an optional URL', () => {
    const rule = 'must be "witness <name> <vkey> [<url>]"';
    rejects('a name alone', ['witness W0', 'quorum none'], 'line 1', rule);
    rejects(
      'four fields',
      [`witness W0 ${K0} https://a.example/ x`, 'quorum none'],
      'line 1',
      rule,
    );
    rejects(
      'not a key',
      ['witness W0 not-a-key', 'quorum none'],
      'line 1',
      'invalid vkey: must be <name>+<hex8 key ID>+<base64 key>',
    );
  });

  it('may not be named after a keyword', () => {
    for (const kw of ['log', 'witness', 'group', 'quorum', 'none', 'all', 'any']) {
      rejects(
        `a witness named ${kw}`,
        [`witness ${kw} ${K0}`, 'quorum none'],
        'line 1',
        `invalid witness name "${kw}": it is a keyword`,
      );
    }
    expect(policy([`witness Any ${K0}`, 'quorum Any']).quorum, 'keywords are case-sensitive').toBe(
      'Any',
    );
  });

  it('names are defined once, across witnesses and groups', () => {
    rejects(
      'two witnesses W0',
      [`witness W0 ${K0}`, `witness W0 ${K1}`, 'quorum W0'],
      'line 2',
      'duplicate component name "W0"',
    );
    rejects(
      'a witness named after a group',
      [`witness W0 ${K0}`, 'group G any W0', `witness G ${K1}`, 'quorum G'],
      'line 3',
      'duplicate component name "G"',
    );
  });

  it('may be written as Ed25519 (type 0x01) keys, as Sigsum does', () => {
    const asEd25519 = formatVerifierKey({
      name: 'w0.example',
      type: SIG_TYPE_ED25519,
      publicKey: publicKey(1000),
    });
    const p = policy([`witness W0 ${asEd25519}`, 'quorum W0']);
    expect(p.witnesses[0]?.key.type, 'a type 0x01 witness key').toBe(SIG_TYPE_ED25519);
  });

  it('one public key is one witness (or log), whatever its name or type', () => {
    const sameAsK0 = formatVerifierKey({
      name: 'other.example',
      type: SIG_TYPE_ED25519,
      publicKey: parseVerifierKey(K0).publicKey,
    });
    const sameAsL0 = formatVerifierKey({
      name: 'w.example',
      type: SIG_TYPE_COSIGNATURE_V1,
      publicKey: parseVerifierKey(L0).publicKey,
    });
    const dup = 'duplicate witness key';
    rejects(
      'the same witness key twice',
      [`witness A ${K0}`, `witness B ${K0}`, 'quorum A'],
      'line 2',
      dup,
    );
    rejects(
      'the same key under another name and type',
      [`witness A ${K0}`, `witness B ${sameAsK0}`, 'quorum A'],
      'line 2',
      dup,
    );
    rejects(
      'a witness with the log key',
      [`log ${L0}`, `witness A ${sameAsL0}`, 'quorum A'],
      'line 2',
      dup,
    );
    rejects(
      'explicitly rejected',
      [`witness A ${K0}`, `witness B ${K0}`, 'quorum A'],
      'line 2',
      dup,
      { duplicateWitnessKeys: 'reject' },
    );
  });

  it("duplicate witness keys parse when allowed (Tessera's vectors have them)", () => {
    const p = policy([`witness A ${K0}`, `witness B ${K0}`, 'group G all A B', 'quorum G'], {
      duplicateWitnessKeys: 'allow',
    });
    expect(
      p.witnesses.map((w) => w.name),
      'both witnesses',
    ).toEqual(['A', 'B']);
  });

  it('keys are compared as bytes: two keys are not one because their hex digits run together', () => {
    // Unpadded hex would read [0x01, 0x23, ...] and [0x12, 0x03, ...] alike ("123...").
    const key = (a: number, b: number) => {
      const k = new Uint8Array(32);
      k[0] = a;
      k[1] = b;
      return formatVerifierKey({
        name: `k${a}.example`,
        type: SIG_TYPE_COSIGNATURE_V1,
        publicKey: k,
      });
    };
    const p = policy([`witness A ${key(0x01, 0x23)}`, `witness B ${key(0x12, 0x03)}`, 'quorum A']);
    expect(p.witnesses.length, 'two witnesses').toBe(2);
  });

  it('a URL names one witness signer: another key name at the same URL is refused', () => {
    const url = 'https://w.example/';
    rejects(
      'two key names at one URL',
      [`witness A ${K0} ${url}`, `witness B ${K1}`, `witness C ${K2} ${url}`, 'quorum A'],
      'line 3',
      `witness URL ${url} has multiple witness signer names assigned`,
    );
    // One key name at one URL with a second key (a rotation) is the same witness signer.
    const rotated = formatVerifierKey({
      name: 'w0.example',
      type: SIG_TYPE_COSIGNATURE_V1,
      publicKey: publicKey(2000),
    });
    const p = policy([`witness A ${K0} ${url}`, `witness B ${rotated} ${url}`, 'quorum A']);
    expect(
      p.witnesses.map((w) => w.url),
      'both at one URL',
    ).toEqual([url, url]);
  });
});

describe('URLs', () => {
  it('must be http(s) URLs with a host and no space of any kind', () => {
    for (const url of [
      'ftp://w.example/',
      'xhttps://w.example/',
      'https:/w.example/',
      'https://',
      'https://w.example/\u00a0x',
      'https://w.example/\u2028',
    ]) {
      expectRejected(
        `witness URL ${JSON.stringify(url)}`,
        () => policy([`witness W0 ${K0} ${url}`, 'quorum W0']),
        {
          format: 'tlog-policy',
          field: 'url',
          rule: `"${url}" must be an http(s) URL`,
        },
      );
    }
    expectRejected('log URL', () => policy([`log ${L0} ftp://l.example/`, 'quorum none']), {
      format: 'tlog-policy',
      field: 'url',
      rule: '"ftp://l.example/" must be an http(s) URL',
    });
    const p = policy([`witness W0 ${K0} http://127.0.0.1:8080/x?y=z`, 'quorum W0']);
    expect(p.witnesses[0]?.url, 'an http URL with port and query').toBe(
      'http://127.0.0.1:8080/x?y=z',
    );
  });
});

describe('group lines', () => {
  const defs = [`witness W0 ${K0}`, `witness W1 ${K1}`, `witness W2 ${K2}`];

  it('take a name, a threshold and at least one member', () => {
    rejects(
      'no member',
      [...defs, 'group G any', 'quorum none'],
      'line 4',
      'must be "group <name> all|any|<k> <member>..."',
    );
    expect(policy([...defs, 'group G any W2', 'quorum G']).groups, 'one member').toStrictEqual([
      { name: 'G', threshold: 1, members: ['W2'] },
    ]);
  });

  it('may not be named after a keyword or an existing name', () => {
    for (const kw of ['log', 'witness', 'group', 'quorum', 'none', 'all', 'any']) {
      rejects(
        `a group named ${kw}`,
        [...defs, `group ${kw} any W0`, 'quorum none'],
        'line 4',
        `invalid group name "${kw}": it is a keyword`,
      );
    }
    rejects(
      'a group named after a witness',
      [...defs, 'group W1 any W0', 'quorum none'],
      'line 4',
      'duplicate component name "W1"',
    );
    rejects(
      'two groups G',
      [...defs, 'group G any W0', 'group G any W1', 'quorum none'],
      'line 5',
      'duplicate component name "G"',
    );
  });

  it('members must be defined on an earlier line, each once', () => {
    const notFound = (m: string) => `group member "${m}" not found (define it on an earlier line)`;
    rejects(
      'an undefined member',
      [...defs, 'group G any W0 W9', 'quorum G'],
      'line 4',
      notFound('W9'),
    );
    rejects(
      'a member defined later',
      ['group G any W0', ...defs, 'quorum G'],
      'line 1',
      notFound('W0'),
    );
    rejects('the group itself', [...defs, 'group G any G', 'quorum G'], 'line 4', notFound('G'));
    rejects(
      'a member twice',
      [...defs, 'group G 1 W0 W1 W0', 'quorum G'],
      'line 4',
      'group member "W0" is listed twice',
    );
  });

  it('thresholds: all, any, or 1 to the number of members, in canonical decimal', () => {
    const threshold = (k: string) =>
      policy([...defs, `group G ${k} W0 W1 W2`, 'quorum G']).groups[0]?.threshold;
    expect(threshold('all'), 'all of 3').toBe(3);
    expect(threshold('any'), 'any').toBe(1);
    expect(threshold('1'), '1').toBe(1);
    expect(threshold('3'), '3 of 3').toBe(3);
    for (const k of ['0', '4', '01', '1.0', '1e0', '+1', '-1', 'ALL', 'Any', '10000']) {
      rejects(
        `threshold ${k}`,
        [...defs, `group G ${k} W0 W1 W2`, 'quorum G'],
        'line 4',
        `invalid threshold "${k}": must be all, any, or 1 to 3`,
      );
    }
  });

  it('thresholds of several digits', () => {
    const ws = Array.from({ length: 12 }, (_, i) => `witness W${i} ${witnessVkey(i)}`);
    const members = Array.from({ length: 12 }, (_, i) => `W${i}`).join(' ');
    const p = policy([...ws, `group G 12 ${members}`, `group H 10 ${members}`, 'quorum G']);
    expect(
      p.groups.map((g) => g.threshold),
      '12 and 10 of 12',
    ).toEqual([12, 10]);
    rejects(
      '13 of 12',
      [...ws, `group G 13 ${members}`, 'quorum G'],
      'line 13',
      'invalid threshold "13": must be all, any, or 1 to 12',
    );
  });
});

describe('quorum lines', () => {
  const defs = [`witness W0 ${K0}`, `witness W1 ${K1}`];

  it('exactly one, naming a defined witness or group, or none', () => {
    const shape = 'must be "quorum <name>|none"';
    rejects('no name', [...defs, 'quorum'], 'line 3', shape);
    rejects('two names', [...defs, 'quorum W0 W1'], 'line 3', shape);
    rejects(
      'two quorum lines',
      [...defs, 'quorum W0', 'quorum W0'],
      'line 4',
      'a policy must have exactly one quorum line',
    );
    rejects(
      'an undefined name',
      [...defs, 'quorum W9'],
      'line 3',
      'quorum component "W9" not found',
    );
    rejects(
      'a name defined later',
      ['quorum W0', ...defs],
      'line 1',
      'quorum component "W0" not found',
    );
    rejects('no quorum line', defs, 'policy', 'policy file must define a quorum');
    rejects('an empty policy', [''], 'policy', 'policy file must define a quorum');
    expect(policy([...defs, 'quorum none']).quorum, 'none').toBe('none');
  });

  it('other keywords are refused, with the keyword', () => {
    rejects(
      'witnesses',
      [`witnesses W0 ${K0}`, 'quorum none'],
      'line 1',
      'unknown keyword "witnesses"',
    );
    rejects('Quorum', ['Quorum none'], 'line 1', 'unknown keyword "Quorum"');
  });
});

describe('the quorum a policy asks for', () => {
  const p = policy([
    `witness W0 ${K0}`,
    `witness W1 ${K1}`,
    `witness W2 ${K2}`,
    `witness W3 ${K3}`,
    'group A 2 W0 W1 W2',
    'group B any W3',
    'group AB all A B',
    'quorum AB',
  ]);
  const withQuorum = (q: string) => ({ ...p, quorum: q });

  it('quorumThreshold: the top group threshold, 1 for a witness, 0 for none', () => {
    expect(quorumThreshold(p), 'all of A and B').toBe(2);
    expect(quorumThreshold(withQuorum('A')), '2 of 3').toBe(2);
    expect(quorumThreshold(withQuorum('B')), 'any').toBe(1);
    expect(quorumThreshold(withQuorum('W2')), 'a witness').toBe(1);
    expect(quorumThreshold(withQuorum('none')), 'none').toBe(0);
  });

  it('quorumMet: a group at exactly its threshold is satisfied, one short is not', () => {
    const met = (q: string, ws: string[]) => quorumMet(withQuorum(q), new Set(ws));
    expect(met('A', ['W0', 'W2']), 'A: 2 of 3').toBe(true);
    expect(met('A', ['W1']), 'A: 1 of 3').toBe(false);
    expect(met('AB', ['W0', 'W1', 'W3']), 'AB: A and B').toBe(true);
    expect(met('AB', ['W0', 'W1', 'W2']), 'AB: A without B').toBe(false);
    expect(met('AB', ['W0', 'W3', 'A', 'B']), 'group names are not cosigners').toBe(false);
    expect(met('W3', ['W3']), 'a witness quorum, cosigned').toBe(true);
    expect(met('W3', ['W0', 'W1', 'W2']), 'a witness quorum, not cosigned').toBe(false);
    expect(met('none', []), 'none').toBe(true);
  });
});
