/**
 * The live tail's model (src/console/tail-view.ts): the filter on actor, action and outcome,
 * and the bounded buffer of the newest entries that keeps a fast tail's memory fixed.
 */
import { describe, expect, it } from 'vitest';
import {
  actorOf,
  matches,
  Newest,
  type TailEntry,
  targetsOf,
} from '../../src/console/tail-view.js';

const entry = (event?: Record<string, unknown>, over: Partial<TailEntry> = {}): TailEntry => ({
  seq: 1,
  received_at: '2026-12-05T00:00:00Z',
  leaf_hash: 'x',
  ...(event === undefined ? {} : { event }),
  ...over,
});

describe('the tail filter', () => {
  const e = entry({ actor: { id: 'u-42', name: 'Ann' }, action: 'ssh.login', outcome: 'failure' });

  it('reads the actor as a string or as actor.id, and the targets’ ids', () => {
    expect(actorOf({ actor: 'u-1' }), 'string').toBe('u-1');
    expect(actorOf({ actor: { id: 'u-2' } }), 'object').toBe('u-2');
    expect(actorOf({ actor: 7 }), 'neither').toBe('');
    expect(actorOf(undefined), 'no event').toBe('');
    expect(
      targetsOf({ targets: [{ id: 'db-1' }, { type: 'x' }, 'y', { id: 'h' }] }),
      'targets',
    ).toEqual(['db-1', 'h']);
    expect(targetsOf({ targets: 'db-1' }), 'not a list').toEqual([]);
  });

  it('matches each given field by substring, all of them', () => {
    expect(matches(e, {}), 'no filter').toBe(true);
    expect(matches(e, { actor: '', action: '', outcome: '' }), 'empty filter').toBe(true);
    expect(matches(e, { actor: 'u-4' }), 'actor substring').toBe(true);
    expect(matches(e, { action: 'ssh.', outcome: 'fail' }), 'two fields').toBe(true);
    expect(matches(e, { action: 'ssh.', outcome: 'success' }), 'one field differs').toBe(false);
    expect(matches(e, { actor: 'U-42' }), 'case-sensitive').toBe(false);
    expect(matches(e, { actor: 'Ann' }), 'the name is not the actor').toBe(false);
  });

  it('lets an erased or tampered entry through only an empty filter', () => {
    const erased = entry(undefined, { erased: { reason: 'x' } });
    const tampered = entry(undefined, { tampered: true });
    expect(matches(erased, {}), 'erased, no filter').toBe(true);
    expect(matches(erased, { outcome: 'f' }), 'erased, a filter').toBe(false);
    expect(matches(tampered, { actor: 'u' }), 'tampered, a filter').toBe(false);
  });
});

describe('Newest', () => {
  it('keeps the newest items, oldest first, and counts those pushed out', () => {
    const n = new Newest<number>(3);
    n.push(1, 2);
    expect(n.size, 'below capacity').toBe(2);
    n.push(3, 4, 5);
    expect(n.dropped, 'dropped').toBe(2);
    expect(n.drain(), 'the newest three').toEqual([3, 4, 5]);
    expect(n.size, 'drained').toBe(0);
    n.push(...Array.from({ length: 10_000 }, (_, i) => i));
    expect(n.size, 'bounded').toBe(3);
    expect(n.dropped, 'dropped in all').toBe(2 + 9_997);
  });

  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53])
    it(`refuses a capacity of ${bad}`, () => {
      expect(() => new Newest(bad), String(bad)).toThrow(RangeError);
    });
});
