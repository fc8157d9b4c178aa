// A virtual key as the store keeps it, and the one interface the memory and Redis stores implement.
import type { KeyLimits } from './fields.js'

export type KeySource = 'api' | 'config'

/** What the admin API shows: never the secret, never its hash. */
export interface KeyRecord extends KeyLimits {
  id: string
  name: string
  /** api: created through /admin/keys; config: declared in auth.keys (read-only here). */
  source: KeySource
  disabled: boolean
  /** The secret's last 4 characters, so people can tell their keys apart. */
  key_hint: string
  created_at: string
  updated_at: string
}

/** The record plus the SHA-256 (hex) of its secret: what the store holds and looks keys up by. */
export interface StoredKey extends KeyRecord {
  hash: string
}

export type MaybePromise<T> = T | Promise<T>

export interface KeyPage {
  keys: StoredKey[]
  /** More keys exist than the page holds. */
  hasMore: boolean
}

/**
 * Where API-created keys live. Every change that touches the hash index is atomic, so a rotated or
 * deleted secret stops working on the same write that makes the new one work.
 */
export interface KeyStore {
  findByHash(hash: string): MaybePromise<StoredKey | undefined>
  get(id: string): MaybePromise<StoredKey | undefined>
  /** Oldest first, at most `limit`. */
  list(limit: number): MaybePromise<KeyPage>
  /** Throws a 409 when the id or the hash is taken. */
  create(key: StoredKey): MaybePromise<void>
  /**
   * Replaces the record with `change(current)`; a changed `hash` moves the index in the same write
   * (rotation). undefined when there is no such id. `change` may run more than once on contention.
   */
  update(id: string, change: (current: StoredKey) => StoredKey): MaybePromise<StoredKey | undefined>
  /** false when there is no such id. */
  delete(id: string): MaybePromise<boolean>
}
