// The per-process backend: an LRU bounded by bytes, each answer with its own TTL.
import { LRUCache } from 'lru-cache'
import type { CachedAnswer, ResponseCacheStore } from './store.js'

export interface MemoryCacheStoreOptions {
  maxBytes: number
  maxEntryBytes: number
  /** Monotonic milliseconds; tests move it by hand to expire entries without waiting. */
  now?: () => number
}

export class MemoryCacheStore implements ResponseCacheStore {
  readonly #lru: LRUCache<string, CachedAnswer>

  constructor(options: MemoryCacheStoreOptions) {
    this.#lru = new LRUCache<string, CachedAnswer>({
      maxSize: options.maxBytes,
      maxEntrySize: Math.min(options.maxEntryBytes, options.maxBytes),
      sizeCalculation: (answer) => answer.bytes,
      // Expired entries are dropped when read (or evicted by size), so no timer per entry.
      ttlAutopurge: false,
      // An injected clock is read on every check; the default caches now() for 1 ms on a timer.
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    })
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    return this.#lru.get(key)
  }

  async set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    this.#lru.set(key, answer, { ttl: ttlMs })
  }

  async clear(model?: string): Promise<number> {
    // Counts live answers only: expired ones still held until read are not "deleted" by this.
    const doomed: string[] = []
    for (const [key, answer] of this.#lru.entries()) {
      if (model === undefined || answer.model === model) doomed.push(key)
    }
    if (model === undefined) this.#lru.clear()
    else for (const key of doomed) this.#lru.delete(key)
    return doomed.length
  }

  bytes(): number {
    return this.#lru.calculatedSize
  }
}
