/**
 * The destination's decisions (src/delivery.ts): what is due, how records are batched and
 * framed in a JSON array, the webhook id of a batch, backoff and pausing, and the settings'
 * variables.
 */
import { describe, expect, it } from 'vitest';
import {
  advanced,
  afterFailure,
  type BatchLimits,
  DEFAULT_DELIVERY,
  deliveryId,
  deliverySettings,
  due,
  jsonArrayBody,
  jsonArrayFrame,
  requestFill,
  retryAfterMs,
  retryDelay,
} from '../../src/delivery.js';
import { expectRejected } from '../helpers/format-error.js';

describe('due', () => {
  it('is the entries up to the newest checkpoint, then that checkpoint', () => {
    expect(due({ next: 0, checkpoint: 0 }, 0)).toBeUndefined();
    expect(due({ next: 0, checkpoint: 0 }, 5)).toEqual({ from: 0, to: 5, checkpoint: true });
    expect(due({ next: 5, checkpoint: 5 }, 5)).toBeUndefined();
    expect(due({ next: 5, checkpoint: 5 }, 9)).toEqual({ from: 5, to: 9, checkpoint: true });
    // Entries delivered, their checkpoint not yet (it did not fit the last request).
    expect(due({ next: 9, checkpoint: 5 }, 9)).toEqual({ from: 9, to: 9, checkpoint: true });
    // A cursor ahead of the checkpoint read (a stale read): nothing.
    expect(due({ next: 12, checkpoint: 12 }, 9)).toBeUndefined();
  });

  it('walks any backlog to the end in order, exactly once', () => {
    for (const size of [1, 7, 100, 1001])
      for (const per of [1, 3, 500]) {
        let cursor = { next: 0, checkpoint: 0 };
        const seen: number[] = [];
        let checkpoints = 0;
        for (let d = due(cursor, size); d !== undefined; d = due(cursor, size)) {
          const last = Math.min(d.to, d.from + per) - 1;
          for (let s = d.from; s <= last; s++) seen.push(s);
          const withCp = last + 1 === d.to;
          if (withCp) checkpoints++;
          cursor = advanced(cursor, last >= d.from ? last : undefined, withCp ? d.to : undefined);
        }
        expect(seen, `size ${size}, ${per} per request`).toEqual([...Array(size).keys()]);
        expect(checkpoints, `size ${size}, ${per} per request`).toBe(1);
      }
  });
});

describe('requestFill', () => {
  /** How many of the records of `sizes` one request takes: those it accepts, in order. */
  const taken = (sizes: number[], limits: BatchLimits, envelope: number) => {
    const fits = requestFill(limits, envelope);
    let n = 0;
    for (const size of sizes) {
      if (!fits(size)) break;
      n++;
    }
    return n;
  };
  const limits = { maxRecords: 3, maxBytes: 24 };
  // A JSON array: "[" (the envelope) then each record and its "," or "]" (length + 1).
  const array = (lengths: number[]) =>
    taken(
      lengths.map((n) => n + 1),
      limits,
      1,
    );
  it('fits records into a JSON array of at most maxBytes and maxRecords', () => {
    expect(array([])).toBe(0);
    expect(array([10, 10, 10])).toBe(2); // "[" 10 "," 10 "]" = 23
    expect(array([10, 11, 10])).toBe(2); // 24 exactly
    expect(array([10, 12])).toBe(1); // 25 would not fit
    expect(array([1, 1, 1, 1, 1])).toBe(3);
    expect(array([100, 1])).toBe(1); // a large record goes alone
  });

  it('counts another framing as it is given', () => {
    // Octet-counted syslog frames: "<len> <msg>", no envelope.
    expect(taken([13, 13, 13], { maxRecords: 10, maxBytes: 26 }, 0)).toBe(2);
    expect(taken([13, 13, 13], { maxRecords: 10, maxBytes: 25 }, 0)).toBe(1);
    expect(taken([13, 13, 13], { maxRecords: 10, maxBytes: 25 }, 20)).toBe(1);
  });

  it('once full, refuses every record after, a smaller one too (records stay in order)', () => {
    const bytesFull = requestFill({ maxRecords: 10, maxBytes: 20 }, 0);
    expect(
      [15, 6, 1, 0].map((size) => bytesFull(size)),
      'by bytes',
    ).toEqual([true, false, false, false]);
    const countFull = requestFill({ maxRecords: 2, maxBytes: 100 }, 0);
    expect(
      [1, 1, 1, 1].map((size) => countFull(size)),
      'by count',
    ).toEqual([true, true, false, false]);
    const large = requestFill({ maxRecords: 10, maxBytes: 20 }, 0);
    expect(
      [50, 1].map((size) => large(size)),
      'a large record alone',
    ).toEqual([true, false]);
  });

  it('agrees with the body it bounds', () => {
    for (let n = 0; n < 200; n++) {
      const frames = Array.from({ length: 1 + (n % 7) }, (_, i) =>
        jsonArrayFrame(`"${'é'.repeat((n * 7 + i * 13) % 11)}"`),
      );
      const maxBytes = 5 + (n % 40);
      const k = taken(
        frames.map((f) => f.length),
        { maxRecords: 100, maxBytes },
        1,
      );
      const body = jsonArrayBody(frames.slice(0, k));
      if (k > 1) expect(body.length, `case ${n}`).toBeLessThanOrEqual(maxBytes);
      if (k < frames.length)
        expect(
          jsonArrayBody(frames.slice(0, k + 1)).length,
          `case ${n}: one more does not fit`,
        ).toBeGreaterThan(maxBytes);
    }
  });
});

describe('jsonArrayFrame and jsonArrayBody', () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  it('make the JSON array of the records, exactly the envelope and the frames long', () => {
    const cases: [string, string[]][] = [
      ['none', []],
      ['one', ['{"a":1}']],
      ['several', ['{"a":1}', '"x"', '[]', '{"b":"\\u00e9"}']],
      ['multi-byte UTF-8', ['{"a":"é"}', '"𝄞"', '{"k":"日本"}']],
      ['a record with "," and "]" inside', ['{"a":"],"}', '{"b":","}']],
    ];
    for (const [label, jsons] of cases) {
      const frames = jsons.map(jsonArrayFrame);
      for (const [i, f] of frames.entries())
        expect(text(f), `${label}: frame ${i}`).toBe(`${jsons[i]},`);
      const body = jsonArrayBody(frames);
      expect(text(body), label).toBe(`[${jsons.join(',')}]`);
      expect(JSON.parse(text(body)), label).toEqual(jsons.map((j) => JSON.parse(j)));
      if (jsons.length > 0)
        expect(body.length, `${label}: the length counted`).toBe(
          1 + frames.reduce((n, f) => n + f.length, 0),
        );
    }
  });

  it('refuses a frame that does not end with ","', () => {
    const te = new TextEncoder();
    for (const [label, frames] of [
      ['no ","', [te.encode('1')]],
      ['the last one without', [jsonArrayFrame('1'), te.encode('2')]],
      ['an empty frame', [new Uint8Array(0)]],
      ['"]" instead', [te.encode('1]')]],
    ] as const)
      expect(() => jsonArrayBody(frames), label).toThrow(RangeError);
  });
});

describe('deliveryId', () => {
  it('names the destination, stream, seqs and checkpoint of a batch', () => {
    expect(deliveryId('siem', 'prod', { first: 0, last: 99, checkpoint: 100 })).toBe(
      'siem.prod.0-99.c100',
    );
    expect(deliveryId('siem', 'prod', { first: 4, last: 4 })).toBe('siem.prod.4-4');
    expect(deliveryId('siem', '_access', { checkpoint: 7 })).toBe('siem._access.c7');
  });
});

describe('retries and pausing', () => {
  const policy = { retryMinMs: 100, retryMaxMs: 1000, pauseAfter: 5 };
  it('doubles the delay per failure, capped', () => {
    expect([1, 2, 3, 4, 5, 6, 60, 10_000].map((f) => retryDelay(f, policy))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
    expect(() => retryDelay(0, policy)).toThrow(RangeError);
  });

  it('pauses at the pauseAfter-th failure in a row, saying why', () => {
    expect(afterFailure(4, 'HTTP 503', policy)).toEqual({ kind: 'retry', delayMs: 800 });
    expect(afterFailure(5, 'HTTP 503', policy)).toEqual({
      kind: 'pause',
      reason: '5 deliveries failed in a row; the last: HTTP 503',
    });
  });

  it("waits at least what the receiver's Retry-After asks, and at most retryMaxMs", () => {
    expect(afterFailure(1, 'HTTP 429', policy, 700)).toEqual({ kind: 'retry', delayMs: 700 });
    expect(afterFailure(4, 'HTTP 429', policy, 300)).toEqual({ kind: 'retry', delayMs: 800 });
    expect(afterFailure(1, 'HTTP 429', policy, 60_000)).toEqual({ kind: 'retry', delayMs: 1000 });
    expect(afterFailure(5, 'HTTP 429', policy, 10)).toMatchObject({ kind: 'pause' });
  });

  it('reads Retry-After as delay seconds or an IMF-fixdate, and ignores anything else', () => {
    const now = Date.parse('2026-12-06T05:29:00.000Z');
    const cases: [string | null, number | undefined][] = [
      ['0', 0],
      ['120', 120_000],
      ['9999999999', 9_999_999_999_000],
      ['Sun, 06 Dec 2026 05:30:00 GMT', 60_000],
      ['Sun, 06 Dec 2026 05:28:00 GMT', 0], // in the past
      [null, undefined],
      ['', undefined],
      ['-5', undefined],
      ['1.5', undefined],
      [' 120', undefined],
      ['120 ', undefined],
      ['12345678901', undefined], // 11 digits
      ['0x10', undefined],
      ['Sunday, 06-Dec-26 05:30:00 GMT', undefined], // obsolete RFC 850 form
      ['Sun Dec  6 05:30:00 2026', undefined], // asctime
      ['Sun, 06 Dec 2026 05:30:00 UTC', undefined],
      ['Mon, 06 Dec 2026 05:30:00 GMT', undefined], // the 6th is a Sunday
      ['Sun, 31 Feb 2026 05:30:00 GMT', undefined],
      ['Sun, 06 Dec 2026 25:30:00 GMT', undefined],
    ];
    for (const [value, want] of cases) expect(retryAfterMs(value, now), String(value)).toBe(want);
  });
});

describe('deliverySettings', () => {
  it('takes the defaults, and each variable over its default', () => {
    expect(deliverySettings({})).toEqual(DEFAULT_DELIVERY);
    expect(deliverySettings({ DESTINATION_POLL_MS: '50', DESTINATION_PAUSE_AFTER: '3' })).toEqual({
      ...DEFAULT_DELIVERY,
      pollMs: 50,
      pauseAfter: 3,
    });
    expect(
      deliverySettings({ DESTINATION_MAX_RECORDS: '5000', DESTINATION_MAX_BYTES: '20000000' }),
    ).toEqual({ ...DEFAULT_DELIVERY, maxRecords: 5000, maxBytes: 20_000_000 });
  });

  it('refuses what is not a plain integer in range', () => {
    for (const v of ['0', '-1', '1.5', '01', '1e3', ' 5', '86400001'])
      expectRejected(v, () => deliverySettings({ DESTINATION_TIMEOUT_MS: v }), {
        format: 'delivery-settings',
        field: 'DESTINATION_TIMEOUT_MS',
        rule: 'must be an integer from 1 to 86400000',
      });
    expectRejected(
      'min over max',
      () => deliverySettings({ DESTINATION_RETRY_MIN_MS: '5000', DESTINATION_RETRY_MAX_MS: '100' }),
      {
        format: 'delivery-settings',
        field: 'DESTINATION_RETRY_MIN_MS',
        rule: 'must not exceed DESTINATION_RETRY_MAX_MS',
      },
    );
  });
});
