// Breaker records in Redis, so replicas sharing a Redis agree that an upstream is down. A record is
// one JSON string `{"version":n,"record":{...}}` under `<prefix>breaker:<target>`: a GET reads it, and
// one Lua script compares the version and writes the next one atomically (as fastify-rate-limit's
// RedisStore does one script per call). The key expires a day after its last write, so targets taken
// out of the config leave nothing behind; a closed breaker with no history is the absence of a key.
import type { Redis, Result } from 'ioredis'
import type { BreakerRecord } from '../router/breaker-state.js'
import type { BreakerStateStore, StoredBreaker } from '../router/breaker-store.js'
import type { Clock } from '../router/types.js'
import { type OnStoreError, RedisGuard, type StoreLogger } from './redis-guard.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS[1] breaker key; ARGV: expected version, record JSON, TTL in seconds. 1 when written. */
    anygateBreakerCas(
      key: string,
      expectedVersion: number,
      record: string,
      ttlS: number,
    ): Result<number, Context>
  }
}

// The record is spliced in as the string it came as: cjson would turn its empty `buckets: []` into
// `{}` on the way back out.
const compareAndSetScript = `
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = tonumber(cjson.decode(current).version) or -1 end
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], '{"version":' .. string.format('%d', version + 1) .. ',"record":' .. ARGV[2] .. '}', 'EX', ARGV[3])
return 1
`

export const breakerKeyTtlS = 24 * 60 * 60

export interface RedisBreakerStoreOptions {
  /** Shared with the app's other stores; this store never closes it. */
  client: Redis
  keyPrefix: string
  onError: OnStoreError
  /** The breaker's clock: a refused (deny) record opens now. */
  now?: Clock
  log?: StoreLogger
  ttlS?: number
  /** Overrides the guard built from onError and log (tests: pause and warning intervals). */
  guard?: RedisGuard
}

export class RedisBreakerStore implements BreakerStateStore {
  readonly #client: Redis
  readonly #keyPrefix: string
  readonly #now: Clock
  readonly #ttlS: number
  readonly #guard: RedisGuard

  constructor(options: RedisBreakerStoreOptions) {
    this.#client = options.client
    this.#keyPrefix = options.keyPrefix
    this.#now = options.now ?? Date.now
    this.#ttlS = options.ttlS ?? breakerKeyTtlS
    this.#guard =
      options.guard ?? new RedisGuard({ onError: options.onError, store: 'breaker', log: options.log })
    // Sent as EVALSHA, falling back to EVAL once per connection when Redis does not know the script.
    this.#client.defineCommand('anygateBreakerCas', { numberOfKeys: 1, lua: compareAndSetScript })
  }

  key(targetId: string): string {
    return `${this.#keyPrefix}breaker:${targetId}`
  }

  /**
   * Redis failing: `allow` reads as a closed breaker with no history, so calls go on; `deny` reads as
   * a breaker that opened just now, so the router skips the target and answers 503 with Retry-After
   * (the cooldown) when no target is left, without calling anyone.
   */
  load(targetId: string): Promise<StoredBreaker | undefined> {
    return this.#guard.run(
      'load',
      async () => {
        const raw = await this.#client.get(this.key(targetId))
        return raw === null ? undefined : (JSON.parse(raw) as StoredBreaker)
      },
      () => (this.#guard.onError === 'allow' ? undefined : { version: 0, record: this.#refused() }),
    )
  }

  /**
   * Redis failing: `allow` reports the write as done (the breaker goes on as if closed and forgets
   * this outcome); `deny` reports a lost race, and the breaker re-reads the refused record above.
   */
  compareAndSet(targetId: string, expectedVersion: number, record: BreakerRecord): Promise<boolean> {
    return this.#guard.run(
      'compareAndSet',
      async () =>
        (await this.#client.anygateBreakerCas(
          this.key(targetId),
          expectedVersion,
          JSON.stringify(record),
          this.#ttlS,
        )) === 1,
      () => this.#guard.onError === 'allow',
    )
  }

  #refused(): BreakerRecord {
    return { state: 'open', consecutiveFailures: 0, openedAt: this.#now(), trialStartedAt: null, buckets: [] }
  }
}
