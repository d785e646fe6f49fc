/**
 * The streams page's health marks (src/console/stream-health.ts): no lag is ok; a lag is
 * "behind" while it moves and small; it is "lagging" (the row stands out) when it reaches
 * LAG_LIMIT, or when it has stood still for STALL_MS whatever its size.
 */
import { describe, expect, it } from 'vitest';
import {
  LAG_LIMIT,
  remember,
  type Seen,
  STALL_MS,
  type StreamRow,
  streamHealth,
} from '../../src/console/stream-health.js';

const row = (over: Partial<StreamRow> = {}): StreamRow => ({
  stream: 'prod',
  tree_size: 100,
  checkpoint_size: 100,
  witnessed_size: 100,
  witness_lag: 0,
  mirror_lag: 0,
  ...over,
});

describe('stream health', () => {
  it('is ok with no lag', () => {
    expect(streamHealth(row(), undefined, 0)).toEqual({
      witness: 'ok',
      mirror: 'ok',
      laggard: false,
    });
  });

  it('is behind with a small lag on first sight', () => {
    const r = row({ witnessed_size: 95, witness_lag: 5, mirror_lag: 3 });
    expect(streamHealth(r, undefined, 0)).toEqual({
      witness: 'behind',
      mirror: 'behind',
      laggard: false,
    });
  });

  it('is lagging at LAG_LIMIT and not one below', () => {
    expect(streamHealth(row({ witness_lag: LAG_LIMIT - 1 }), undefined, 0).witness, 'below').toBe(
      'behind',
    );
    expect(streamHealth(row({ witness_lag: LAG_LIMIT }), undefined, 0), 'at').toEqual({
      witness: 'lagging',
      mirror: 'ok',
      laggard: true,
    });
    expect(streamHealth(row({ mirror_lag: LAG_LIMIT }), undefined, 0).laggard, 'mirror').toBe(true);
  });

  it('is lagging when a small lag stands still for STALL_MS, and not before', () => {
    const r = row({ witnessed_size: 98, witness_lag: 2 });
    let seen: Seen | undefined;
    seen = remember(r, seen, 1_000);
    expect(streamHealth(r, seen, 1_000 + STALL_MS - 1).witness, 'just before').toBe('behind');
    expect(streamHealth(r, seen, 1_000 + STALL_MS).witness, 'at STALL_MS').toBe('lagging');
    // remember keeps the time it first stood still.
    seen = remember(r, seen, 1_000 + STALL_MS - 1);
    expect(seen.witnessStill, 'still since').toBe(1_000);
  });

  it('is not stalled while it moves, even if the lag stays the same', () => {
    const a = row({ tree_size: 100, witnessed_size: 98, witness_lag: 2 });
    const b = row({ tree_size: 110, witnessed_size: 108, witness_lag: 2 });
    const seen = remember(a, undefined, 0);
    expect(streamHealth(b, seen, STALL_MS * 2).witness, 'witnessed size moved').toBe('behind');
    expect(remember(b, seen, STALL_MS * 2).witnessStill, 'restarts the clock').toBe(STALL_MS * 2);
  });

  it('tells the mirror by what it has mirrored, not by its lag', () => {
    const a = row({ tree_size: 100, mirror_lag: 5 });
    const still = row({ tree_size: 101, mirror_lag: 6 }); // mirrored 95 both times
    const seen = remember(a, undefined, 0);
    expect(streamHealth(still, seen, STALL_MS).mirror, 'mirrored nothing for STALL_MS').toBe(
      'lagging',
    );
    const moved = row({ tree_size: 101, mirror_lag: 5 });
    expect(streamHealth(moved, seen, STALL_MS).mirror, 'mirrored one more').toBe('behind');
  });
});
