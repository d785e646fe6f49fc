/**
 * `stele verify` never trusts the server: a ledger that answers with garbage (not JSON, the
 * wrong shapes, seqs that are strings) gets a clear refusal and a non-zero exit, never a
 * crash and never a pass. The hostile ledger is a real HTTP server on 127.0.0.1 holding a
 * log key the verifier pins (it can sign; it lies about everything else).
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIo } from '../../bin/node-io.js';
import { EXIT, main } from '../../src/cli/main.js';
import { signedLog } from '../helpers/signed-log.js';

const origin = 'hostile.test/log/x';
const {
  key,
  note,
  records: good,
} = signedLog('x', origin, [
  { action: 'a', actor: 'u-0' },
  { action: 'a', actor: 'u-1' },
]);

/** What the hostile ledger answers for the entries and the search mirror, per case. */
let answers: { entries: string; mirror: string; tail?: string } = { entries: '', mirror: '' };
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (body: string, type = 'application/json') => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    if (path === '/v1/streams/x/checkpoint') return send(note, 'text/plain');
    if (path === '/v1/streams/x/checkpoints')
      return send(JSON.stringify({ checkpoints: [{ size: 2, note }], next: null }));
    if (path === '/v1/streams/x/entries') return send(answers.entries);
    if (path === '/v1/search') return send(answers.mirror);
    if (path === '/v1/streams/x/tail') return send(answers.tail ?? '', 'text/event-stream');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function stele(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const dir = mkdtempSync(join(tmpdir(), 'stele-hostile-'));
  const io = nodeIo({
    env: { STELE_URL: url, STELE_LOG_KEY: key.vkey },
    isTTY: false,
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      out += s;
    },
    stateDir: dir,
  });
  return { code: await main(args, io), out };
}

/** Each run has a state folder of its own: no run remembers another's. */
const verify = () => stele(['verify', 'x']);

describe('a hostile ledger', () => {
  it('is verified when it tells the truth (the control)', async () => {
    answers = {
      entries: JSON.stringify({ entries: good, next: null }),
      mirror: JSON.stringify({ results: [], cursor: null }),
    };
    const r = await verify();
    expect(r.code, r.out).toBe(EXIT.ok);
  });

  it('is refused, with a reason, whatever garbage it sends', async () => {
    const mirrorOk = JSON.stringify({ results: [], cursor: null });
    const cases: [string, { entries: string; mirror: string }, RegExp][] = [
      ['entries not JSON', { entries: '<html>', mirror: mirrorOk }, /not JSON/],
      ['no entries array', { entries: '{"entries":{}}', mirror: mirrorOk }, /no entries array/],
      [
        'a null record',
        { entries: '{"entries":[null],"next":null}', mirror: mirrorOk },
        /entries\[0\]/,
      ],
      [
        'a seq as a string',
        {
          entries: JSON.stringify({ entries: [{ ...good[0], seq: '0' }], next: null }),
          mirror: mirrorOk,
        },
        /entries\[0\]/,
      ],
      [
        'mirror rows with string seqs (which would slip past the cross-check)',
        {
          entries: JSON.stringify({ entries: good, next: null }),
          mirror: JSON.stringify({
            results: [{ seq: '0', received_at: 'x', leaf_hash: 'y', event: {} }],
            cursor: null,
          }),
        },
        /results\[0\]/,
      ],
      [
        'no mirror results',
        { entries: JSON.stringify({ entries: good, next: null }), mirror: '{"cursor":null}' },
        /no results array/,
      ],
    ];
    for (const [label, a, why] of cases) {
      answers = a;
      const r = await verify();
      expect(r.code, `${label}: ${r.out}`).toBe(EXIT.server);
      expect(r.out, label).toMatch(why);
    }
  });

  it('is refused by stele tail when it sends a malformed message', async () => {
    for (const [label, body, why] of [
      ['not JSON', 'event: entry\ndata: {bad\n\n', /not JSON/],
      [
        'a string seq',
        'event: entry\ndata: {"type":"entry","seq":"1","received_at":"x","leaf_hash":"y","event":{}}\n\n',
        /malformed entry/,
      ],
      ['a bad start', 'event: start\ndata: {"from":-1}\n\n', /malformed start/],
      [
        'a bad checkpoint',
        'event: checkpoint\ndata: {"type":"checkpoint","size":1}\n\n',
        /malformed checkpoint/,
      ],
    ] as const) {
      answers = { ...answers, tail: body };
      const r = await stele(['tail', 'x', '--token', 't']);
      expect(r.code, `${label}: ${r.out}`).toBe(EXIT.server);
      expect(r.out, label).toMatch(why);
    }
  });
});
