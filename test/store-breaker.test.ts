// One suite for every BreakerStateStore: the memory store and the Redis store (against the real Redis
// on 127.0.0.1:6379) must read, version and compare-and-set breaker records the same way, including
// under 20 concurrent writers, where exactly one may win each version.
import { afterAll, describe, expect, it } from 'vitest'
import type { BreakerRecord } from '../plugins/router/breaker-state.js'
import { type BreakerStateStore, MemoryBreakerStore } from '../plugins/router/breaker-store.js'
import { CircuitBreaker } from '../plugins/router/circuit-breaker.js'
import { breakerKeyTtlS, RedisBreakerStore } from '../plugins/store/redis-breaker-store.js'
import { connectTestRedis, deleteKeys, uniquePrefix } from './helpers/redis.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('breaker-store')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

let storeCount = 0
const stores: { name: string; create: (() => BreakerStateStore) | undefined }[] = [
  { name: 'MemoryBreakerStore', create: () => new MemoryBreakerStore() },
  {
    name: 'RedisBreakerStore',
    create:
      redis &&
      (() =>
        new RedisBreakerStore({ client: redis, keyPrefix: `${prefix}${++storeCount}:`, onError: 'deny' })),
  },
]

const record = (overrides: Partial<BreakerRecord> = {}): BreakerRecord => ({
  state: 'closed',
  consecutiveFailures: 0,
  openedAt: 0,
  trialStartedAt: null,
  buckets: [],
  ...overrides,
})

describe.each(stores)('$name', ({ create }) => {
  const it_ = create ? it : it.skip
  const newStore = () => create!()

  it_('has no record for a target nobody wrote', async () => {
    expect(await newStore().load('openai/gpt-4o')).toBeUndefined()
  })

  it_('writes a first record only against version 0 and reads it back with version 1', async () => {
    const store = newStore()
    const first = record({
      state: 'half_open',
      consecutiveFailures: 3,
      openedAt: 1_700_000_000_123,
      trialStartedAt: 1_700_000_030_123,
      buckets: [
        { start: 1_700_000_000_000, ok: 2, failed: 1 },
        { start: 1_700_000_006_000, ok: 0, failed: 4 },
      ],
    })
    expect(await store.compareAndSet('a/m', 1, first)).toBe(false)
    expect(await store.load('a/m')).toBeUndefined()
    expect(await store.compareAndSet('a/m', 0, first)).toBe(true)
    expect(await store.load('a/m')).toEqual({ version: 1, record: first })
  })

  it_('keeps empty buckets an array and null a null', async () => {
    const store = newStore()
    await store.compareAndSet('a/m', 0, record())
    const loaded = await store.load('a/m')
    expect(loaded?.record.buckets).toEqual([])
    expect(loaded?.record.trialStartedAt).toBeNull()
  })

  it_('refuses a stale version and leaves the stored record alone', async () => {
    const store = newStore()
    const opened = record({ state: 'open', openedAt: 5 })
    expect(await store.compareAndSet('a/m', 0, record({ consecutiveFailures: 1 }))).toBe(true)
    expect(await store.compareAndSet('a/m', 1, opened)).toBe(true)
    expect(await store.compareAndSet('a/m', 1, record({ consecutiveFailures: 9 }))).toBe(false)
    expect(await store.compareAndSet('a/m', 0, record({ consecutiveFailures: 9 }))).toBe(false)
    expect(await store.load('a/m')).toEqual({ version: 2, record: opened })
    expect(await store.compareAndSet('a/m', 2, record())).toBe(true)
    expect((await store.load('a/m'))?.version).toBe(3)
  })

  it_('keeps targets apart', async () => {
    const store = newStore()
    await store.compareAndSet('a/m', 0, record({ state: 'open', openedAt: 1 }))
    expect(await store.load('b/m')).toBeUndefined()
    expect(await store.compareAndSet('b/m', 0, record())).toBe(true)
    expect((await store.load('a/m'))?.record.state).toBe('open')
  })

  it_('lets exactly one of 20 concurrent writers win each version', async () => {
    const store = newStore()
    for (const expected of [0, 1, 2]) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.compareAndSet('a/m', expected, record({ consecutiveFailures: i })),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      const winner = results.indexOf(true)
      expect(await store.load('a/m')).toEqual({
        version: expected + 1,
        record: record({ consecutiveFailures: winner }),
      })
    }
  })

  it_('loses no update when 20 writers read, change and retry on conflict', async () => {
    const store = newStore()
    const increment = async () => {
      for (;;) {
        const stored = await store.load('a/m')
        const next = record({ consecutiveFailures: (stored?.record.consecutiveFailures ?? 0) + 1 })
        if (await store.compareAndSet('a/m', stored?.version ?? 0, next)) return
      }
    }
    await Promise.all(Array.from({ length: 20 }, increment))
    expect(await store.load('a/m')).toEqual({ version: 20, record: record({ consecutiveFailures: 20 }) })
  })

  it_('lets two breakers on one store agree that a target is open', async () => {
    const store = newStore()
    const settings = {
      consecutive_failures: 2,
      error_rate: 0.5,
      window_s: 60,
      min_samples: 10,
      cooldown_s: 30,
      trial_timeout_s: 120,
    }
    const now = () => 1_700_000_000_000
    const replicaA = new CircuitBreaker({ settings, store, now })
    const replicaB = new CircuitBreaker({ settings, store, now })
    for (let i = 0; i < 2; i++) {
      const admission = await replicaA.tryAcquire('a/m')
      if (!admission.admitted) throw new Error('refused while closed')
      await replicaA.record(admission.permit, 'failure')
    }
    expect(await replicaB.snapshot('a/m')).toEqual({
      state: 'open',
      consecutiveFailures: 0,
      retryAfterMs: 30_000,
    })
    expect(await replicaB.tryAcquire('a/m')).toEqual({
      admitted: false,
      state: 'open',
      retryAfterMs: 30_000,
    })
  })
})

describe.skipIf(!redis)('RedisBreakerStore keys', () => {
  it('stores {version, record} as JSON under <prefix>breaker:<target>, expiring a day after the last write', async () => {
    const keyPrefix = `${prefix}layout:`
    const store = new RedisBreakerStore({ client: redis!, keyPrefix, onError: 'allow' })
    const opened = record({ state: 'open', openedAt: 42 })
    await store.compareAndSet('openai/gpt-4o', 0, opened)
    const key = `${keyPrefix}breaker:openai/gpt-4o`
    expect(JSON.parse((await redis!.get(key))!)).toEqual({ version: 1, record: opened })
    const ttl = await redis!.ttl(key)
    expect(ttl).toBeGreaterThan(breakerKeyTtlS - 5)
    expect(ttl).toBeLessThanOrEqual(breakerKeyTtlS)
    await redis!.expire(key, 60)
    await store.compareAndSet('openai/gpt-4o', 1, record())
    expect(await redis!.ttl(key)).toBeGreaterThan(breakerKeyTtlS - 5)
  })

  it('leaves the shared client open', async () => {
    const store = new RedisBreakerStore({ client: redis!, keyPrefix: `${prefix}open:`, onError: 'allow' })
    await store.load('a/m')
    expect(redis!.status).toBe('ready')
  })
})
