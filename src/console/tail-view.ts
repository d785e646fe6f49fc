/**
 * The live tail's model, apart from the page: the filter on actor, action and outcome, and
 * a bounded buffer of the newest matching entries, so a tail of a thousand entries a second
 * keeps a fixed amount of memory and the page draws only what changed, once per frame.
 */
import { isJsonObject } from '../json-shape.js';

/** A tail entry as src/sdk/tail.ts yields it. */
export interface TailEntry {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  readonly event?: Record<string, unknown>;
  readonly erased?: Record<string, unknown>;
  readonly tampered?: boolean;
}

/** Substrings to look for; an empty one matches everything. */
export interface TailFilter {
  readonly actor?: string;
  readonly action?: string;
  readonly outcome?: string;
}

/** The actor of an event: the actor string, or actor.id (docs/format.md §2). */
export function actorOf(event: Record<string, unknown> | undefined): string {
  const a = event?.actor;
  if (typeof a === 'string') return a;
  return isJsonObject(a) && typeof a.id === 'string' ? a.id : '';
}

/** The ids of an event's targets. */
export function targetsOf(event: Record<string, unknown> | undefined): string[] {
  const t = event?.targets;
  if (!Array.isArray(t)) return [];
  return t.flatMap((x) => (isJsonObject(x) && typeof x.id === 'string' ? [x.id] : []));
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * Whether an entry matches: each given field contains its text (case-sensitive, as search
 * matches exactly). An erased or tampered entry has no fields: it matches only an empty filter.
 */
export function matches(e: TailEntry, f: TailFilter): boolean {
  const checks: [string | undefined, string][] = [
    [f.actor, actorOf(e.event)],
    [f.action, text(e.event?.action)],
    [f.outcome, text(e.event?.outcome)],
  ];
  return checks.every(([want, have]) => !want || (e.event !== undefined && have.includes(want)));
}

/**
 * The newest `capacity` items pushed, oldest first. `dropped` counts those pushed out, so the
 * page can say how many it no longer holds.
 */
export class Newest<T> {
  readonly #items: T[] = [];
  #dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`"capacity" expected an integer >= 1, got ${capacity}`);
  }

  push(...items: readonly T[]): void {
    this.#items.push(...items);
    const over = this.#items.length - this.capacity;
    if (over > 0) {
      this.#items.splice(0, over);
      this.#dropped += over;
    }
  }

  /** Removes and returns every item held. */
  drain(): T[] {
    return this.#items.splice(0, this.#items.length);
  }

  get size(): number {
    return this.#items.length;
  }

  get dropped(): number {
    return this.#dropped;
  }
}
