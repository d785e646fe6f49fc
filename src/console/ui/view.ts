/** What a page is given to draw itself. */
import type { Route } from '../hash-route.js';
import type { Caller } from './session.js';

export interface View {
  /** The element the page fills. */
  readonly main: HTMLElement;
  readonly route: Route;
  readonly caller: Caller;
  /** Aborted when the user leaves the page: stop tails and loads. */
  readonly signal: AbortSignal;
}

export type Render = (v: View) => void | Promise<void>;

/** Roles that may read entries, tails and search (docs/api.md §Roles). */
export const canRead = (c: Caller) => c.role === 'reader' || c.role === 'admin';
/** Roles that may list streams and read checkpoints and proofs. */
export const canVerify = (c: Caller) => canRead(c) || c.role === 'verifier';
