/**
 * The Cloudflare Access team's signing keys (a JWKS), cached. Access rotates its keys every
 * six weeks with an overlap, so a key set is used for `ttlMs`; a token that names a key the
 * set does not hold asks for a refetch, which happens at most once every `refetchMs`, so that
 * made-up key ids cannot turn each request into a fetch from the team domain. Concurrent
 * requests share one fetch, and after a failed fetch none is tried for `refetchMs` either. The clock and the fetch come in from the caller (the Worker's,
 * or a test's).
 */
import { type AccessKeySet, parseJwks } from './access-jwt.js';

export interface JwksCacheOptions {
  /** The JWKS document's text at the URL (throws when it cannot be had). */
  readonly fetchText: (url: string) => Promise<string>;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** How long a fetched set is used (Access: 10 minutes is far inside its overlap). */
  readonly ttlMs: number;
  /** The least time between two fetches asked for by unknown key ids. */
  readonly refetchMs: number;
}

export class JwksCache {
  readonly #opts: JwksCacheOptions;
  #held: { url: string; set: AccessKeySet; at: number } | undefined;
  #pending: { url: string; set: Promise<AccessKeySet> } | undefined;
  /** When a fetch last failed: none is tried again before `refetchMs` (the domain may be down). */
  #failed: { url: string; at: number; error: unknown } | undefined;

  constructor(opts: JwksCacheOptions) {
    if (!(opts.ttlMs > 0 && opts.refetchMs > 0 && opts.refetchMs <= opts.ttlMs))
      throw new RangeError('"refetchMs" expected a positive duration no longer than "ttlMs"');
    this.#opts = opts;
  }

  /**
   * The key set of `url`: the held one while it is fresh, unless `unknownKey` (a token named
   * a key it lacks) and the last fetch is at least `refetchMs` old.
   */
  async keys(url: string, unknownKey = false): Promise<AccessKeySet> {
    const held = this.#held;
    if (held !== undefined && held.url === url) {
      const age = this.#opts.now() - held.at;
      if (age < this.#opts.ttlMs && !(unknownKey && age >= this.#opts.refetchMs)) return held.set;
    }
    if (this.#pending?.url === url) return this.#pending.set;
    const at = this.#opts.now();
    const failed = this.#failed;
    if (failed?.url === url && at - failed.at < this.#opts.refetchMs) {
      // Within the pause after a failure: the held set if it is still fresh, else the failure.
      if (held?.url === url && at - held.at < this.#opts.ttlMs) return held.set;
      throw failed.error;
    }
    const set = this.#opts.fetchText(url).then(parseJwks);
    this.#pending = { url, set };
    try {
      const value = await set;
      this.#held = { url, set: value, at };
      this.#failed = undefined;
      return value;
    } catch (error) {
      this.#failed = { url, at, error };
      throw error;
    } finally {
      if (this.#pending?.set === set) this.#pending = undefined;
    }
  }
}
