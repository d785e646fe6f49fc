/**
 * A stream object's side of the archive (archive.ts): moving full bundles of 256 entries
 * from its own storage to R2, reading entries (archived ones back from R2, the others from
 * the hot rows), and erasing entries: archived ones by puncturing their bundle's key tree,
 * hot ones in the same transaction (reads and erasure are here because whether an entry is
 * a row or in R2 changes only here, and may change at any await). What the object keeps of
 * an archived bundle: its tree nodes of level 8 and up, its key tree (sealed), the
 * erasures of its entries, and for a window of time the idempotency keys of its entries
 * (docs/storage.md gives the bounds).
 *
 * The order that makes a crash at any point harmless: the bundle's key tree is stored
 * first; then the bundle and its tiles are created in R2 (a retry finds them and checks
 * they are the same); only then, in one transaction, the rows are dropped and the watermark
 * moves. A crash before the transaction leaves the rows where they were. The order holds
 * because of what the store and the bucket guarantee (archive-store.ts): the store's writes
 * are synchronous, atomic and durable before any put that follows leaves the object.
 */
import {
  BUNDLE_WIDTH,
  bytesEqual,
  type EntryCipher,
  formatBundleKeys,
  formatHashTile,
  HASH_SIZE,
  type KeyNode,
  leafKey,
  leafKeys,
  type NodeId,
  newBundleKeys,
  openBundleEntry,
  parseBundle,
  parseBundleKeys,
  parseHashTile,
  perfectRoot,
  puncture,
  type SealedBundle,
  sealBundle,
  TILE_HEIGHT,
} from '../../src/index.js';
import { archiveKey, openRows, putOnce, readArchived, sameBundle } from './archive.js';
import type { ArchiveBucket, ArchiveStore } from './archive-store.js';

/**
 * Bundles archived per alarm, so that an alarm stays short whatever the backlog (appends
 * wait while it runs; 4 held the object for about 0.2 s under the batch load).
 */
export const ARCHIVE_BATCH = 2;
/** Decoded bundles kept in memory for reads (a tail replay reads them one after another). */
const CACHE_BUNDLES = 8;

/** An archived entry as read back: its bytes, or why there are none. */
export interface ArchivedRow {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: Uint8Array;
  readonly bytes: Uint8Array | undefined;
  /** The erasure (JSON) of an erased entry, or null. */
  readonly erased: string | null;
  /** The archived bytes, or the bundle itself, fail authentication or are missing. */
  readonly tampered: boolean;
}

export class StreamArchive {
  readonly #cache = new Map<number, Promise<ArchivedRow[]>>();
  readonly #tiles = new Map<number, Promise<Uint8Array[] | undefined>>();

  constructor(
    readonly db: ArchiveStore,
    readonly bucket: ArchiveBucket,
    readonly stream: string,
    readonly cipher: EntryCipher,
  ) {}

  /** The first seq not archived. */
  get archived(): number {
    return this.db.archived();
  }

  /**
   * Archives up to ARCHIVE_BATCH full bundles below `limit` (the caller keeps what the
   * mirror still needs, and the newest entry, hot). Returns whether more wait.
   */
  async step(limit: number): Promise<boolean> {
    for (let n = 0; n < ARCHIVE_BATCH; n++) {
      const from = this.db.archived();
      if (from + BUNDLE_WIDTH > limit) return false;
      await this.#archiveBundle(from);
    }
    return this.db.archived() + BUNDLE_WIDTH <= limit;
  }

  async #archiveBundle(from: number): Promise<void> {
    const bundle = from / BUNDLE_WIDTH;
    const rows = this.db.archiveRows(from, BUNDLE_WIDTH);
    if (rows.length !== BUNDLE_WIDTH || rows[0]?.seq !== from)
      throw new Error(`bundle ${bundle}: ${rows.length} of its 256 rows are stored`);
    let keys = await this.#keys(bundle);
    if (keys === undefined) {
      keys = newBundleKeys();
      this.db.setBundleKeys(
        bundle,
        await this.cipher.sealBundleKeys(bundle, formatBundleKeys(keys)),
      );
    }
    const entries = await openRows(this.cipher, rows);
    const tree = keys;
    const leafHashes = rows.map((r) => new Uint8Array(r.leaf_hash));
    const place = { stream: this.stream, first: from, leafHashes };
    const sealed = await sealBundle(place, entries, tree);
    const tile = formatHashTile(leafHashes);
    // Which entries the bundle in R2 holds: those sealed here, or, when an attempt before
    // this one uploaded it, those it holds (some may have been erased since).
    let held = entries.map((e) => e !== undefined);
    // Every object of the bundle is written (in parallel) before its rows go.
    const puts = [
      putOnce(this.bucket, archiveKey(this.stream, -1, bundle), sealed, async (have) => {
        if (!(await sameBundle(place, have, entries, tree))) return false;
        held = parseBundle(have, BUNDLE_WIDTH).entries.map((e) => e.length > 0);
        return true;
      }),
      putOnce(this.bucket, archiveKey(this.stream, 0, bundle), tile, (have) =>
        bytesEqual(have, tile),
      ),
    ];
    // The nodes of level 8 and up that these leaves completed: kept here for proofs, and
    // each one that completes a tile of a level above goes to R2 with that tile.
    const nodes: { level: number; index: number; hash: Uint8Array }[] = [];
    for (const r of rows) {
      const completed = new Uint8Array(r.nodes);
      for (let level = TILE_HEIGHT; level * HASH_SIZE <= completed.length; level++)
        nodes.push({
          level,
          index: (r.seq + 1) / 2 ** level - 1,
          hash: completed.slice((level - 1) * HASH_SIZE, level * HASH_SIZE),
        });
    }
    for (const node of nodes) {
      if (node.level % TILE_HEIGHT !== 0 || node.index % BUNDLE_WIDTH !== BUNDLE_WIDTH - 1)
        continue;
      const first = node.index - (BUNDLE_WIDTH - 1);
      const hashes = [
        ...this.db.treeNodes(node.level, first, BUNDLE_WIDTH - 1).map((h) => new Uint8Array(h)),
        node.hash,
      ];
      if (hashes.length !== BUNDLE_WIDTH)
        throw new Error(`tile ${node.level / TILE_HEIGHT}/${first / BUNDLE_WIDTH}: nodes missing`);
      const upper = formatHashTile(hashes);
      puts.push(
        putOnce(
          this.bucket,
          archiveKey(this.stream, node.level / TILE_HEIGHT, first / BUNDLE_WIDTH),
          upper,
          (have) => bytesEqual(have, upper),
        ),
      );
    }
    await Promise.all(puts);
    // An entry erased after it was sealed into the bundle (an erasure of a hot row does not
    // wait for the archive: it may come while the puts are out, or between a failed attempt
    // and this one) is in R2 under its leaf key: the key tree is punctured at it, and stored
    // in the transaction that drops its row, read again after the last await.
    let now = rows;
    let punctured: Uint8Array | undefined;
    for (let kept = tree; ; ) {
      now = this.db.archiveRows(from, BUNDLE_WIDTH);
      if (now.length !== BUNDLE_WIDTH)
        throw new Error(`bundle ${bundle}: ${now.length} of its 256 rows are stored`);
      const shred = now.filter(
        (r, i) => r.erased !== null && held[i] === true && leafKey(kept, i) !== undefined,
      );
      if (shred.length === 0) break;
      for (const r of shred) kept = puncture(kept, r.seq - from);
      punctured = await this.cipher.sealBundleKeys(bundle, formatBundleKeys(kept));
    }
    this.db.transaction(() => {
      if (punctured !== undefined) this.db.setBundleKeys(bundle, punctured);
      this.db.completeArchive(from, from + BUNDLE_WIDTH, {
        nodes,
        erasures: now
          .filter((r) => r.erased !== null)
          .map((r) => ({
            seq: r.seq,
            received_at: r.received_at,
            erased: r.erased as string,
            synced: r.erased_synced === 1,
          })),
        keys: now
          .filter((r) => r.idem_key !== null && r.body_hash !== null)
          .map((r) => ({
            idemKey: r.idem_key as string,
            seq: r.seq,
            bodyHash: r.body_hash as string,
            receivedAt: r.received_at,
            leafHash: new Uint8Array(r.leaf_hash),
            at: Date.parse(r.received_at),
          })),
      });
    });
  }

  /** A bundle's key tree, or undefined before it was first archived. */
  async #keys(bundle: number): Promise<KeyNode[] | undefined> {
    const sealed = this.db.bundleKeys(bundle);
    if (sealed === undefined) return undefined;
    return parseBundleKeys(await this.cipher.openBundleKeys(bundle, new Uint8Array(sealed)));
  }

  /** The leaf hashes of archived bundle `bundle` (its level-0 tile), or undefined when missing. */
  #leafHashes(bundle: number): Promise<Uint8Array[] | undefined> {
    let p = this.#tiles.get(bundle);
    if (p === undefined) {
      p = readArchived(this.bucket, archiveKey(this.stream, 0, bundle)).then((b) =>
        b?.length === BUNDLE_WIDTH * HASH_SIZE ? parseHashTile(b, BUNDLE_WIDTH) : undefined,
      );
      this.#tiles.set(bundle, p);
      if (this.#tiles.size > CACHE_BUNDLES * 4)
        this.#tiles.delete(this.#tiles.keys().next().value as number);
    }
    return p;
  }

  /** The entries of archived bundle `bundle`, opened; erased and tampered ones say so. */
  rows(bundle: number): Promise<ArchivedRow[]> {
    let p = this.#cache.get(bundle);
    if (p === undefined) {
      p = this.#read(bundle);
      this.#cache.set(bundle, p);
      p.catch(() => this.#cache.delete(bundle));
      if (this.#cache.size > CACHE_BUNDLES)
        this.#cache.delete(this.#cache.keys().next().value as number);
    }
    return p;
  }

  async #read(bundle: number): Promise<ArchivedRow[]> {
    const from = bundle * BUNDLE_WIDTH;
    const [bytes, hashes, keys] = await Promise.all([
      readArchived(this.bucket, archiveKey(this.stream, -1, bundle)),
      this.#leafHashes(bundle),
      this.#keys(bundle),
    ]);
    const erasures = new Map(
      this.db.archivedErasures(from, from + BUNDLE_WIDTH).map((e) => [e.seq, e]),
    );
    const leaves = keys === undefined ? undefined : leafKeys(keys);
    let sealed: SealedBundle | undefined;
    try {
      sealed = bytes === undefined ? undefined : parseBundle(bytes, BUNDLE_WIDTH);
    } catch (e) {
      console.error(`stream ${this.stream}: archived bundle ${bundle} does not parse: ${e}`);
      sealed = undefined;
    }
    const place =
      hashes === undefined ? undefined : { stream: this.stream, first: from, leafHashes: hashes };
    return Promise.all(
      Array.from({ length: BUNDLE_WIDTH }, async (_, i): Promise<ArchivedRow> => {
        const seq = from + i;
        const leaf_hash = hashes?.[i] ?? new Uint8Array(HASH_SIZE);
        const erasure = erasures.get(seq);
        if (erasure !== undefined)
          return {
            seq,
            received_at: erasure.received_at,
            leaf_hash,
            bytes: undefined,
            erased: erasure.erased,
            tampered: false,
          };
        const key = leaves?.[i];
        // The entry's exact bytes, checked against its leaf hash in the level-0 tile.
        const opened =
          sealed === undefined || key === undefined || place === undefined
            ? undefined
            : await openBundleEntry(place, sealed, i, key);
        if (!opened?.ok) {
          console.error(
            `stream ${this.stream}: archived entry ${seq} is missing or fails authentication${opened === undefined ? '' : ` (${opened.reason}: ${opened.detail})`}`,
          );
          return {
            seq,
            received_at: '',
            leaf_hash,
            bytes: undefined,
            erased: null,
            tampered: true,
          };
        }
        return {
          seq,
          received_at: opened.receivedAt,
          leaf_hash,
          bytes: opened.bytes,
          erased: null,
          tampered: false,
        };
      }),
    );
  }

  /**
   * Stored entries [from, from + limit) that exist, in seq order, opened: archived ones from
   * R2 (rows(), a bundle at a time), the others from the hot rows. An entry whose bytes fail
   * authentication is marked tampered and logged (someone changed it at rest), so one
   * damaged entry never hides the rest; an erased one carries its erasure and no bytes.
   *
   * Consecutive from `from` (up to the newest entry) whatever the alarm does meanwhile: its
   * step runs outside the object's exclusive section, so it may archive the next bundle,
   * dropping its rows, while one is read from R2. The watermark is therefore read again
   * after every await, and the hot rows are read with no await after its last reading
   * (ArchiveStore.rows); read from an older one, a whole bundle would be skipped (a gap in a
   * page, a tail replay, or a destination's batch). test/unit/stream-archive.test.ts holds a
   * read at its R2 get while a step archives.
   *
   * @example
   * // Archived below 65,536: six entries from bundle 255 in R2, then four hot rows.
   * (await archive.page(65_530, 10)).map((r) => r.seq); // [65530, ..., 65539]
   */
  async page(from: number, limit: number): Promise<ArchivedRow[]> {
    const out: ArchivedRow[] = [];
    let at = from;
    while (at < this.db.archived() && out.length < limit) {
      const bundle = Math.floor(at / BUNDLE_WIDTH);
      for (const r of await this.rows(bundle)) if (r.seq >= at && out.length < limit) out.push(r);
      at = (bundle + 1) * BUNDLE_WIDTH;
    }
    if (out.length === limit) return out;
    const hot = this.db.rows(at, limit - out.length);
    return [
      ...out,
      ...(await Promise.all(
        hot.map(async (r): Promise<ArchivedRow> => {
          const row = {
            seq: r.seq,
            received_at: r.received_at,
            leaf_hash: new Uint8Array(r.leaf_hash),
            erased: r.erased,
          };
          if (r.erased !== null) return { ...row, bytes: undefined, tampered: false };
          const bytes = await this.cipher.tryOpen(r.seq, new Uint8Array(r.entry));
          if (bytes === undefined)
            console.error(`stream ${this.stream}: entry ${r.seq} fails authentication`);
          return { ...row, bytes, tampered: bytes === undefined };
        }),
      )),
    ];
  }

  /**
   * A tree node of level below 8 whose leaves are all archived, from its bundle's level-0
   * tile (in R2). Requires (level, index) to lie within [0, archived).
   */
  async node({ level, index }: NodeId): Promise<Uint8Array> {
    const per = 2 ** level;
    const first = index * per;
    const bundle = Math.floor(first / BUNDLE_WIDTH);
    const hashes = await this.#leafHashes(bundle);
    if (hashes === undefined)
      throw new Error(`tile 0/${bundle} of ${this.stream} is not in the archive`);
    return perfectRoot(hashes.slice(first % BUNDLE_WIDTH, (first % BUNDLE_WIDTH) + per));
  }

  /**
   * Erases the entries at `seqs` (each below the tree's size), in one transaction: a hot
   * entry's sealed bytes are emptied; an archived entry's bundle key tree is punctured at it
   * and stored in place of the old one (whose keys are then gone), and its erasure recorded
   * to be carried to D1. Returns the seqs erased now, in order: each of `seqs` not erased
   * before. Requires erasures to run one at a time (the object runs them in its log's
   * exclusive section); the alarm's archiving does not wait for them.
   *
   * @example
   * await archive.erase([17, 70_000], JSON.stringify({ record, at })); // [17, 70000]
   */
  async erase(seqs: readonly number[], erasure: string): Promise<number[]> {
    const wanted = new Set(seqs);
    // Archived bundles are read from R2 and their trees punctured before the transaction.
    // The alarm archives outside the object's exclusive section, so it may drop a bundle's
    // rows and move the watermark during any of these awaits: which entries are archived is
    // decided again after each, and the transaction follows the last decision with no await
    // between. An entry taken for a hot row whose row went meanwhile would be erased in
    // neither place (its contents left in R2 under a live key) and answered as erased before.
    const trees = new Map<number, { rows: ArchivedRow[]; sealed: Uint8Array | undefined }>();
    let archived = this.db.archived();
    for (;;) {
      const bundles = new Set<number>();
      for (const q of wanted)
        if (q < archived && !trees.has(Math.floor(q / BUNDLE_WIDTH)))
          bundles.add(Math.floor(q / BUNDLE_WIDTH));
      if (bundles.size === 0) break;
      for (const bundle of bundles) {
        const rows = (await this.rows(bundle)).filter(
          (r) => r.erased === null && wanted.has(r.seq),
        );
        let sealed: Uint8Array | undefined;
        if (rows.length > 0) {
          let keys = (await this.#keys(bundle)) ?? [];
          for (const r of rows) keys = puncture(keys, r.seq % BUNDLE_WIDTH);
          sealed = await this.cipher.sealBundleKeys(bundle, formatBundleKeys(keys));
        }
        trees.set(bundle, { rows, sealed });
      }
      archived = this.db.archived();
    }
    const erased: number[] = [];
    try {
      this.db.transaction(() => {
        for (const [bundle, { sealed }] of trees)
          if (sealed !== undefined) this.db.setBundleKeys(bundle, sealed);
        for (const { rows } of trees.values())
          for (const r of rows) {
            this.db.insertArchivedErasure(r.seq, r.received_at, erasure);
            erased.push(r.seq);
          }
        for (const seq of wanted)
          if (seq >= archived && this.db.eraseEntry(seq, erasure)) erased.push(seq);
      });
    } finally {
      // Even when the write throws: it may have been saved (archive-store.ts), and then the
      // cached rows would serve erased contents until evicted.
      for (const bundle of trees.keys()) this.#cache.delete(bundle);
    }
    return erased.sort((a, b) => a - b);
  }
}
