// Writes the project's own test vectors under test/vectors/, computed WITHOUT src/: Node's
// built-in SHA-256 and Ed25519, the RFC 6962 recursive definitions written out naively, and
// entry bytes spelled out by hand. The unit tests then check src/ against these files, and
// the shared official vectors check both. Run: node scripts/make-vectors.mjs
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors');
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const b64 = (b) => Buffer.from(b).toString('base64');
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);
const split = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
// RFC 9162 §2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 SUBPROOF, literally.
const mth = (d) =>
  d.length === 0
    ? sha256()
    : d.length === 1
      ? d[0]
      : nodeHash(mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length))));
const path = (m, d) => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
const subproof = (m, d, b) => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};

function write(rel, value) {
  const file = join(out, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

// --- Merkle: 20 leaves "stele leaf <i>", all proofs up to 20 -----------------------------
{
  const data = Array.from({ length: 20 }, (_, i) => Buffer.from(`stele leaf ${i}`));
  const leaves = data.map(leafHash);
  const roots = Array.from({ length: 21 }, (_, n) => b64(mth(leaves.slice(0, n))));
  const inclusion = [];
  const consistency = [];
  for (let n = 1; n <= 20; n++) {
    for (let i = 0; i < n; i++)
      inclusion.push({ index: i, size: n, proof: path(i, leaves.slice(0, n)).map(b64) });
    for (let m = 1; m <= n; m++)
      consistency.push({
        size1: m,
        size2: n,
        proof: subproof(m, leaves.slice(0, n), true).map(b64),
      });
  }
  write('merkle/stele-tree-20.json', {
    desc: 'RFC 6962 tree over leaves "stele leaf <i>" (ASCII), i = 0..19; every root, inclusion and consistency proof, computed by the RFC 9162 recursive definitions with node:crypto',
    leaf_data: data.map((d) => d.toString()),
    leaf_hashes: leaves.map(b64),
    roots_by_size: roots,
    inclusion,
    consistency,
  });
}

// --- Keys, a signed checkpoint, a cosignature --------------------------------------------
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
function ed25519(seed) {
  const priv = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { pub, sign: (msg) => sign(null, msg, priv) };
}
const keyId = (name, type, pub) =>
  sha256(Buffer.from(`${name}\n`), Buffer.from([type]), pub).subarray(0, 4);
const vkey = (name, type, pub) =>
  `${name}+${keyId(name, type, pub).toString('hex')}+${b64(Buffer.concat([Buffer.from([type]), pub]))}`;
const skey = (name, type, seed, pub) =>
  `PRIVATE+KEY+${name}+${keyId(name, type, pub).toString('hex')}+${b64(Buffer.concat([Buffer.from([type]), seed]))}`;
const sigLine = (name, id, sig) => `\u2014 ${name} ${b64(Buffer.concat([id, sig]))}\n`;

const logName = 'stele.test/log/prod-access';
const logSeed = sha256(Buffer.from('stele test vector log key'));
const log = ed25519(logSeed);
const witName = 'witness.stele.test/w1';
const witSeed = sha256(Buffer.from('stele test vector witness key'));
const wit = ed25519(witSeed);

// --- Entries of a stream, their chain and tree, a checkpoint over them ------------------
{
  const zero = b64(Buffer.alloc(32));
  const events = [
    '{"action":"ssh.login","actor":{"id":"u-42","name":"Ada","type":"user"},"context":{"ip":"192.0.2.7"},"outcome":"success","targets":[{"id":"db-prod-1","type":"host"}]}',
    '{"action":"sudo","actor":"u-42","metadata":{"a":[true,null,1.5],"\u00e9":1},"occurred_at":"2026-11-26T13:43:00Z"}',
    '{"action":"ssh.logout","actor":"u-42","id":"evt-3"}',
  ];
  const times = [
    '2026-11-26T13:43:00.001Z',
    '2026-11-26T13:43:00.001Z',
    '2026-11-26T13:44:10.250Z',
  ];
  const entries = [];
  let prev = zero;
  for (const [seq, event] of events.entries()) {
    // Members in code-unit order: event, prev, received_at, seq, stream.
    const text = `{"event":${event},"prev":"${prev}","received_at":"${times[seq]}","seq":${seq},"stream":"prod-access"}`;
    const bytes = Buffer.from(text, 'utf8');
    const leaf = leafHash(bytes);
    entries.push({ seq, event_json: event, entry_b64: b64(bytes), leaf_hash: b64(leaf), prev });
    prev = b64(leaf);
  }
  const leaves = entries.map((e) => Buffer.from(e.leaf_hash, 'base64'));
  const root = mth(leaves);
  const text = `${logName}\n${leaves.length}\n${b64(root)}\n`;
  const logSig = log.sign(Buffer.from(text));
  const timestamp = 1_795_000_000;
  const cosigMsg = Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const cosig = Buffer.concat([ts, wit.sign(cosigMsg)]);
  const note = `${text}\n${sigLine(logName, keyId(logName, 1, log.pub), logSig)}${sigLine(witName, keyId(witName, 4, wit.pub), cosig)}`;
  const proofFile = `c2sp.org/tlog-proof@v1\nextra ${entries[1].entry_b64}\nindex 1\n${path(1, leaves).map(b64).join('\n')}\n\n${note}`;
  write('entry/prod-access-3.json', {
    desc: 'three entries of stream prod-access, written out by hand in RFC 8785 form; their leaf hashes, hash chain, tree root, a signed and cosigned checkpoint, and the tlog-proof of seq 1',
    stream: 'prod-access',
    entries,
    root: b64(root),
    log: {
      name: logName,
      seed_hex: logSeed.toString('hex'),
      vkey: vkey(logName, 1, log.pub),
      skey: skey(logName, 1, logSeed, log.pub),
    },
    witness: {
      name: witName,
      seed_hex: witSeed.toString('hex'),
      vkey: vkey(witName, 4, wit.pub),
      skey: skey(witName, 4, witSeed, wit.pub),
    },
    checkpoint_text: text,
    cosignature_timestamp: timestamp,
    signed_note: note,
    tlog_proof_seq1: proofFile,
  });
}

// --- RFC 8785 canonicalization, written out by hand --------------------------------------
write('jcs/cases.json', {
  desc: 'RFC 8785 inputs and their canonical form (hand-written), and inputs that must be rejected',
  canonical: [
    { input: '{ "b" : 2, "a" : 1 }', want: '{"a":1,"b":2}' },
    { input: '[1.0, 1.50, -0, 0.0000001, 123e-2, 1E2]', want: '[1,1.5,0,1e-7,1.23,100]' },
    {
      input: '{"\\u20ac":1,"\\r":2,"\\ud83d\\ude00":3,"\\ufb33":4}',
      want: '{"\\r":2,"\u20ac":1,"\ud83d\ude00":3,"\ufb33":4}',
    },
    { input: '"\\u00e9\\/\\u0007\\u001f\\u007f"', want: '"\u00e9/\\u0007\\u001f\u007f"' },
    { input: '{"a":{"c":[{}],"b":null},"A":false}', want: '{"A":false,"a":{"b":null,"c":[{}]}}' },
    { input: '9007199254740991', want: '9007199254740991' },
    { input: '1e-7', want: '1e-7' },
  ],
  reject: [
    '{"a":1,"a":2}',
    '9007199254740992',
    '-9007199254740992',
    '1e400',
    '"\\udead"',
    '[',
    '01',
    'nul',
    '{"a":1}x',
  ],
});
console.log(`wrote vectors to ${out}`);
