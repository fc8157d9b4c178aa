// max_parallel: how many calls of one key may be in flight at once. A slot is acquired before the
// call and released when its response is over, streams and client aborts included (index.ts).
// Memory counts per process. Redis keeps one lease per call in a sorted set scored by its expiry,
// so a replica that dies mid-call cannot hold its slots forever: expired leases are dropped before
// each count (limits.parallel_lease_ms).
import { randomUUID } from 'node:crypto'
import type { Redis, Result } from 'ioredis'
import { type OnStoreError, RedisGuard, type StoreLogger } from '../store/redis-guard.js'

export interface SlotResult {
  acquired: boolean
  /** Calls in flight for the key, this one included when acquired. */
  inFlight: number
  /** What release() takes back; undefined when nothing was taken (refused, or the store was down). */
  lease: string | undefined
  /** The store could not be asked: `acquired` is store.on_error's answer. */
  degraded: boolean
}

export interface ParallelSlots {
  acquire(key: string, limit: number): Promise<SlotResult>
  release(key: string, lease: string): Promise<void>
  /** `acquire` and `release` done at once, for a store that needs no I/O: no promise per request. */
  acquireNow?(key: string, limit: number): SlotResult
  releaseNow?(key: string, lease: string): void
  /** Calls in flight for the key now. */
  inFlight(key: string): Promise<number>
}

const memoryLease = 'slot'

export class MemoryParallelSlots implements ParallelSlots {
  readonly #inFlight = new Map<string, number>()

  async acquire(key: string, limit: number): Promise<SlotResult> {
    return this.acquireNow(key, limit)
  }

  acquireNow(key: string, limit: number): SlotResult {
    const current = this.#inFlight.get(key) ?? 0
    if (current >= limit) return { acquired: false, inFlight: current, lease: undefined, degraded: false }
    this.#inFlight.set(key, current + 1)
    return { acquired: true, inFlight: current + 1, lease: memoryLease, degraded: false }
  }

  async release(key: string): Promise<void> {
    this.releaseNow(key)
  }

  releaseNow(key: string): void {
    const current = this.#inFlight.get(key) ?? 0
    if (current <= 1) this.#inFlight.delete(key)
    else this.#inFlight.set(key, current - 1)
  }

  async inFlight(key: string): Promise<number> {
    return this.#inFlight.get(key) ?? 0
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: the key's lease set. ARGV: now, limit, lease id, lease ms. Returns [acquired, in flight]. */
    anygateParallelAcquire(
      key: string,
      now: number,
      limit: number,
      lease: string,
      leaseMs: number,
    ): Result<[number, number], Context>
  }
}

const acquireScript = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local inFlight = redis.call('ZCARD', KEYS[1])
if inFlight >= tonumber(ARGV[2]) then return { 0, inFlight } end
local expires = tonumber(ARGV[1]) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], expires, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return { 1, inFlight + 1 }
`

export interface RedisParallelSlotsOptions {
  client: Redis
  keyPrefix: string
  onError: OnStoreError
  leaseMs: number
  now?: () => number
  log?: StoreLogger
  /** The app's guard (app.stateStore.guard), which also reports fallbacks to metrics. */
  guard?: RedisGuard
}

export class RedisParallelSlots implements ParallelSlots {
  readonly #client: Redis
  readonly #prefix: string
  readonly #leaseMs: number
  readonly #now: () => number
  readonly #guard: RedisGuard
  // Lease ids unique across replicas without a random draw per call.
  readonly #instance = randomUUID()
  #sequence = 0

  constructor(options: RedisParallelSlotsOptions) {
    this.#client = options.client
    this.#prefix = `${options.keyPrefix}limits:parallel:`
    this.#leaseMs = options.leaseMs
    this.#now = options.now ?? Date.now
    this.#guard =
      options.guard ?? new RedisGuard({ onError: options.onError, store: 'max-parallel', log: options.log })
    if (!this.#client.anygateParallelAcquire) {
      this.#client.defineCommand('anygateParallelAcquire', { numberOfKeys: 1, lua: acquireScript })
    }
  }

  acquire(key: string, limit: number): Promise<SlotResult> {
    const lease = `${this.#instance}:${++this.#sequence}`
    return this.#guard.run<SlotResult>(
      'acquire',
      async () => {
        const [acquired, inFlight] = await this.#client.anygateParallelAcquire(
          this.#prefix + key,
          this.#now(),
          limit,
          lease,
          this.#leaseMs,
        )
        return {
          acquired: acquired === 1,
          inFlight,
          lease: acquired === 1 ? lease : undefined,
          degraded: false,
        }
      },
      () => ({ acquired: this.#guard.onError === 'allow', inFlight: 0, lease: undefined, degraded: true }),
    )
  }

  async release(key: string, lease: string): Promise<void> {
    // A release that fails leaves the lease to expire; the guard logs it.
    await this.#guard.run(
      'release',
      async () => {
        await this.#client.zrem(this.#prefix + key, lease)
      },
      () => undefined,
    )
  }

  async inFlight(key: string): Promise<number> {
    const now = this.#now()
    return this.#guard.run(
      'count',
      async () => this.#client.zcount(this.#prefix + key, `(${now}`, '+inf'),
      () => 0,
    )
  }
}
