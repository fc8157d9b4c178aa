// The shared backend: answers in Redis under `<prefix>cache:e:<hash>` (SET PX), so every replica
// using the same Redis and prefix serves what any one of them stored. Per model, a sorted set
// `<prefix>cache:m:<model>` indexes the entry keys by expiry time, so deleting one model's answers
// reads that set instead of scanning the keyspace; each write trims the expired members, which
// keeps the set as small as the model's live answers.
//
// The cache is an optimisation: a Redis failure reads as a miss and skips the write, whatever
// store.on_error says (that setting is about shared limits and breakers, which must not be wrong).
import type { Redis, Result } from 'ioredis'
import { RedisGuard, type StoreLogger } from '../store/redis-guard.js'
import { type CachedAnswer, parseCachedAnswer, type ResponseCacheStore } from './store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: entry, model index. ARGV: answer JSON, ttl ms, expiry (epoch ms), now (epoch ms). */
    anygateCacheSet(
      entryKey: string,
      indexKey: string,
      answer: string,
      ttlMs: number,
      expiresAt: number,
      now: number,
    ): Result<number, Context>
  }
}

// One script so the entry and its index entry are written together; the index lives as long as its
// longest-lived entry.
const setScript = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`

/** Keys per DEL and per SCAN/ZRANGE page: each command stays short on a busy Redis. */
const batch = 500

const globSpecials = /[*?[\]\\]/g

export interface RedisCacheStoreOptions {
  /** app.stateStore.redis; this store never closes it. */
  client: Redis
  keyPrefix: string
  log?: StoreLogger
  /** Wall-clock milliseconds for the index's expiry scores (shared by replicas, so not monotonic). */
  now?: () => number
  /** Overrides the guard built from log (tests: pause and warning intervals). */
  guard?: RedisGuard
}

export class RedisCacheStore implements ResponseCacheStore {
  readonly #client: Redis
  readonly #prefix: string
  readonly #now: () => number
  readonly #guard: RedisGuard

  constructor(options: RedisCacheStoreOptions) {
    this.#client = options.client
    this.#prefix = `${options.keyPrefix}cache:`
    this.#now = options.now ?? Date.now
    const log = options.log
    this.#guard =
      options.guard ??
      new RedisGuard({
        // The guard's pause and rate-limited warnings, with the cache's own answer to a failure.
        onError: 'allow',
        store: 'cache',
        log: log && {
          warn: (details) =>
            log.warn(
              { ...details, on_error: undefined },
              'response cache unavailable: answering as a miss and not storing',
            ),
        },
      })
    this.#client.defineCommand('anygateCacheSet', { numberOfKeys: 2, lua: setScript })
  }

  entryKey(key: string): string {
    return `${this.#prefix}e:${key}`
  }

  indexKey(model: string): string {
    return `${this.#prefix}m:${model}`
  }

  get(key: string): Promise<CachedAnswer | undefined> {
    return this.#guard.run(
      'get',
      async () => {
        const text = await this.#client.get(this.entryKey(key))
        return text === null ? undefined : parseCachedAnswer(text)
      },
      () => undefined,
    )
  }

  set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    const now = this.#now()
    return this.#guard.run(
      'set',
      async () => {
        await this.#client.anygateCacheSet(
          this.entryKey(key),
          this.indexKey(answer.model),
          JSON.stringify(answer),
          ttlMs,
          now + ttlMs,
          now,
        )
      },
      () => undefined,
    )
  }

  /** An operator's call: a Redis failure here is reported, not hidden. */
  async clear(model?: string): Promise<number> {
    return model === undefined ? this.#clearAll() : this.#clearModel(model)
  }

  bytes(): null {
    return null
  }

  async #clearModel(model: string): Promise<number> {
    const index = this.indexKey(model)
    let deleted = 0
    for (;;) {
      const keys = await this.#client.zrange(index, 0, batch - 1)
      if (keys.length === 0) break
      const [[, removed] = [], [, unindexed] = []] =
        (await this.#client
          .multi()
          .del(...keys)
          .zrem(index, ...keys)
          .exec()) ?? []
      deleted += Number(removed ?? 0)
      // A member no ZREM removed means the set changed under us; stop rather than loop forever.
      if (Number(unindexed ?? 0) === 0) break
    }
    await this.#client.del(index)
    return deleted
  }

  async #clearAll(): Promise<number> {
    const pattern = `${this.#prefix.replace(globSpecials, '\\$&')}`
    const entries = await this.#deleteMatching(`${pattern}e:*`)
    await this.#deleteMatching(`${pattern}m:*`)
    return entries
  }

  async #deleteMatching(match: string): Promise<number> {
    let deleted = 0
    let cursor = '0'
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', batch)
      cursor = next
      if (keys.length > 0) deleted += await this.#client.del(...keys)
    } while (cursor !== '0')
    return deleted
  }
}
