// Keys in process: the store of the default memory state (one gateway process). Records are copied
// in and out so callers can't change a stored key behind the store's back.
import { keyConflict } from './errors.js'
import type { KeyPage, KeyStore, StoredKey } from './types.js'

export class MemoryKeyStore implements KeyStore {
  readonly #byHash = new Map<string, StoredKey>()
  /** id -> hash, in creation order (a rotation sets an existing entry, which keeps its place). */
  readonly #hashById = new Map<string, string>()

  findByHash(hash: string): StoredKey | undefined {
    const key = this.#byHash.get(hash)
    return key && structuredClone(key)
  }

  get(id: string): StoredKey | undefined {
    const hash = this.#hashById.get(id)
    return hash === undefined ? undefined : this.findByHash(hash)
  }

  list(limit: number): KeyPage {
    const keys: StoredKey[] = []
    for (const hash of this.#hashById.values()) {
      if (keys.length === limit) return { keys, hasMore: true }
      keys.push(structuredClone(this.#byHash.get(hash)!))
    }
    return { keys, hasMore: false }
  }

  create(key: StoredKey): void {
    if (this.#hashById.has(key.id) || this.#byHash.has(key.hash))
      throw keyConflict('That key already exists.')
    this.#byHash.set(key.hash, structuredClone(key))
    this.#hashById.set(key.id, key.hash)
  }

  update(id: string, change: (current: StoredKey) => StoredKey): StoredKey | undefined {
    const current = this.get(id)
    if (!current) return undefined
    const next = change(current)
    if (next.hash !== current.hash) {
      if (this.#byHash.has(next.hash)) throw keyConflict('The new secret collides with another key.')
      // Rotation: the old hash goes and the new one comes in the same synchronous step.
      this.#byHash.delete(current.hash)
      this.#hashById.set(id, next.hash)
    }
    this.#byHash.set(next.hash, structuredClone(next))
    return structuredClone(next)
  }

  delete(id: string): boolean {
    const hash = this.#hashById.get(id)
    if (hash === undefined) return false
    this.#hashById.delete(id)
    this.#byHash.delete(hash)
    return true
  }
}
