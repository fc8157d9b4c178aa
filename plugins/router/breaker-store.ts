// Where breaker records live. Per process by default; a Redis store (later, through @fastify/redis)
// lets replicas agree that an upstream is down. Two operations are enough for that: read a record
// with its version, and write it back only if nobody wrote in between (a Lua compare-and-set in
// Redis, as fastify-rate-limit's RedisStore does one atomic script per call).
import type { BreakerRecord } from './breaker-state.js'

export interface StoredBreaker {
  record: BreakerRecord
  /** Increases with every write; 0 is never stored. */
  version: number
}

/** Sync or async, so the memory store runs without awaiting and a remote store can still fit. */
export type MaybePromise<T> = T | Promise<T>

export interface BreakerStateStore {
  /** The target's record, or undefined when it has none (a closed breaker with no history). */
  load(targetId: string): MaybePromise<StoredBreaker | undefined>
  /**
   * Stores `record` only if the stored version is still `expectedVersion` (0: nothing stored yet).
   * Resolves false when another writer came first; the breaker then re-reads and decides again.
   */
  compareAndSet(targetId: string, expectedVersion: number, record: BreakerRecord): MaybePromise<boolean>
}

export class MemoryBreakerStore implements BreakerStateStore {
  readonly #records = new Map<string, StoredBreaker>()

  load(targetId: string): StoredBreaker | undefined {
    return this.#records.get(targetId)
  }

  compareAndSet(targetId: string, expectedVersion: number, record: BreakerRecord): boolean {
    const current = this.#records.get(targetId)?.version ?? 0
    if (current !== expectedVersion) return false
    this.#records.set(targetId, { record, version: current + 1 })
    return true
  }
}
