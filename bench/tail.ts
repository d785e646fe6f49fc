/**
 * Live tail latency (docs/benchmarks.md): 100 WebSocket tails on one stream of a real ledger
 * (Miniflare, loopback); for each of APPENDS single-event appends, the time from the append's
 * acknowledgement (the 201 arriving) to each tail receiving that entry. Target: p99 under
 * 100 ms. Ceiling, in the same run: the append round trip itself.
 */
import { randomBytes } from 'node:crypto';
import { startLedger } from '../test/integration/workers.js';

const TAILS = Number(process.env.TAILS ?? 100);
const APPENDS = Number(process.env.APPENDS ?? 50);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

const ledger = await startLedger({ logKey: randomBytes(32).toString('base64'), adminToken: 'b' });
try {
  const received = new Map<number, number[]>();
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: TAILS }, async () => {
      const ws = new WebSocket(`${ledger.url.replace('http', 'ws')}/v1/streams/live/tail`, {
        headers: { authorization: 'Bearer b' },
      } as unknown as string[]);
      ws.addEventListener('message', (e) => {
        const m = JSON.parse(String(e.data)) as { type: string; seq?: number };
        if (m.type !== 'entry' || m.seq === undefined) return;
        const list = received.get(m.seq) ?? [];
        list.push(performance.now());
        received.set(m.seq, list);
      });
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('websocket failed')));
      });
      sockets.push(ws);
    }),
  );
  const acked = new Map<number, number>();
  const sentAt = new Map<number, number>();
  const rtt: number[] = [];
  for (let i = 0; i < APPENDS; i++) {
    const t0 = performance.now();
    const r = await fetch(`${ledger.url}/v1/streams/live/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer b', 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'a', actor: `u${i}` }),
    });
    const body = (await r.json()) as { entries: { seq: number }[] };
    const t1 = performance.now();
    rtt.push(t1 - t0);
    acked.set(body.entries[0]?.seq ?? -1, t1);
    sentAt.set(body.entries[0]?.seq ?? -1, t0);
    await new Promise((res) => setTimeout(res, 20));
  }
  await new Promise((res) => setTimeout(res, 500));
  const lat: number[] = [];
  const fromSend: number[] = [];
  let missing = 0;
  for (const [seq, t1] of acked) {
    const got = received.get(seq) ?? [];
    missing += TAILS - got.length;
    for (const t of got) {
      lat.push(Math.max(0, t - t1));
      fromSend.push(t - (sentAt.get(seq) ?? t1));
    }
  }
  console.log(
    `${TAILS} tails, ${APPENDS} appends: ack -> tail p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms; missing ${missing}; request sent -> tail p50 ${pct(fromSend, 50).toFixed(1)} ms, p99 ${pct(fromSend, 99).toFixed(1)} ms; append round trip p50 ${pct(rtt, 50).toFixed(1)} ms, p99 ${pct(rtt, 99).toFixed(1)} ms`,
  );
  for (const ws of sockets) ws.close();
} finally {
  await ledger.dispose();
}
