/**
 * The ledger's keys at rest (docs/security.md §Encryption): the master keys from secrets, and
 * the wrapped keys in D1's `keys` table ("stream:<name>" data keys, mirrored there by each
 * stream object; "search", the one search key, which the Worker uses). Unwrapped keys are cached per isolate as
 * values, never as pending promises: a promise whose I/O belongs to one request must not be
 * awaited by another (the first request's end would cancel it).
 */
import {
  generateDataKey,
  importMasterKey,
  type MasterKey,
  parseClearFields,
  SearchIndex,
  unwrapKey,
  wrapKey,
} from '../../src/index.js';
import type { LedgerEnv } from './env.js';

let masters: { secrets: string; keys: MasterKey[] } | undefined;

/**
 * The master keys: MASTER_KEY first (it wraps), then MASTER_KEY_PREVIOUS during a rotation
 * (it only unwraps). Throws when MASTER_KEY is unset or malformed: the ledger stores nothing
 * it cannot encrypt.
 */
export async function masterKeys(env: LedgerEnv): Promise<MasterKey[]> {
  const secrets = `${env.MASTER_KEY ?? ''}\n${env.MASTER_KEY_PREVIOUS ?? ''}`;
  if (masters?.secrets === secrets) return masters.keys;
  if (!env.MASTER_KEY) throw new Error('MASTER_KEY is not set (npm start writes one to .dev.vars)');
  const keys = [await importMasterKey(env.MASTER_KEY)];
  if (env.MASTER_KEY_PREVIOUS)
    keys.push(await importMasterKey(env.MASTER_KEY_PREVIOUS, 'MASTER_KEY_PREVIOUS'));
  masters = { secrets, keys };
  return keys;
}

/** The purpose string a stream's data key is wrapped for. */
export function streamKeyName(stream: string): string {
  return `stream:${stream}`;
}

let search: { config: string; index: SearchIndex } | undefined;

/**
 * The search index: the search key from D1 (created by whoever needs it first; INSERT OR
 * IGNORE makes every racer read the same key back) and SEARCH_CLEAR_FIELDS.
 */
export async function searchIndex(env: LedgerEnv): Promise<SearchIndex> {
  const config = `${env.MASTER_KEY ?? ''}\n${env.SEARCH_CLEAR_FIELDS ?? ''}`;
  if (search?.config === config) return search.index;
  const clear = parseClearFields(env.SEARCH_CLEAR_FIELDS);
  const keys = await masterKeys(env);
  const select = env.DB.prepare("SELECT wrapped FROM keys WHERE name = 'search'");
  let row = await select.first<{ wrapped: string }>();
  if (row === null) {
    const wrapped = await wrapKey(keys[0] as MasterKey, generateDataKey(), 'search');
    await env.DB.prepare(
      "INSERT OR IGNORE INTO keys (name, wrapped, updated_at) VALUES ('search', ?, ?)",
    )
      .bind(wrapped, new Date().toISOString())
      .run();
    row = await select.first<{ wrapped: string }>();
  }
  if (row === null) throw new Error('the search key could not be stored in D1');
  const index = new SearchIndex(await unwrapKey(keys, row.wrapped, 'search'), clear);
  search = { config, index };
  return index;
}

/**
 * Re-wraps the search key under the current master key (a rotation step); returns whether it
 * changed. Stream data keys are re-wrapped by their objects (StreamDurableObject.rewrapKey).
 */
export async function rewrapSearchKey(env: LedgerEnv): Promise<boolean> {
  const keys = await masterKeys(env);
  const current = keys[0] as MasterKey;
  const row = await env.DB.prepare("SELECT wrapped FROM keys WHERE name = 'search'").first<{
    wrapped: string;
  }>();
  if (row === null || row.wrapped.startsWith(`v1.${current.id}.`)) return false;
  const key = await unwrapKey(keys, row.wrapped, 'search');
  await env.DB.prepare("UPDATE keys SET wrapped = ?, updated_at = ? WHERE name = 'search'")
    .bind(await wrapKey(current, key, 'search'), new Date().toISOString())
    .run();
  search = undefined;
  return true;
}
