// The circuit breaker's store traffic on the request path (issue #5), on the memory store and on the
// real Redis: one read per target per call, no write for a success on a quiet closed breaker (the
// successes are tallied and flushed, and a failure carries them into the error rate), and
// compare-and-set still guarding every write that changes the state.
import { describe, expect, it, vi } from 'vitest'
import type { BreakerRecord } from '../plugins/router/breaker-state.js'
import {
  type BreakerStateStore,
  MemoryBreakerStore,
  type StoredBreaker,
} from '../plugins/router/breaker-store.js'
import { CircuitBreaker } from '../plugins/router/circuit-breaker.js'
import type { CircuitBreakerSettings } from '../plugins/router/config-schema.js'
import { RedisBreakerStore } from '../plugins/store/redis-breaker-store.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'

const prefix = uniquePrefix('perf-breaker')
const redis = await connectRedisForFile(prefix)

const settings: CircuitBreakerSettings = {
  consecutive_failures: 5,
  error_rate: 0.5,
  window_s: 60,
  min_samples: 10,
  cooldown_s: 30,
  trial_timeout_s: 120,
}

/** Counts what the breaker asks of the store it wraps. */
class CountingStore implements BreakerStateStore {
  loads = 0
  writes = 0
  constructor(readonly inner: BreakerStateStore) {}
  load(targetId: string) {
    this.loads++
    return this.inner.load(targetId)
  }
  compareAndSet(targetId: string, expectedVersion: number, record: BreakerRecord) {
    this.writes++
    return this.inner.compareAndSet(targetId, expectedVersion, record)
  }
}

let stores = 0
const kinds: { name: string; available: boolean; create: () => BreakerStateStore }[] = [
  { name: 'memory', available: true, create: () => new MemoryBreakerStore() },
  {
    name: 'redis',
    available: redis !== undefined,
    create: () =>
      new RedisBreakerStore({ client: redis!, keyPrefix: `${prefix}${++stores}:`, onError: 'deny' }),
  },
]

describe.each(kinds)('$name store', ({ available, create }) => {
  const it_ = available ? it : it.skip

  function setup(overrides: Partial<CircuitBreakerSettings> = {}, successFlushMs = 60_000) {
    let now = 1_700_000_000_000
    const store = new CountingStore(create())
    const newBreaker = () =>
      new CircuitBreaker({ settings: { ...settings, ...overrides }, store, now: () => now, successFlushMs })
    const breaker = newBreaker()
    /** One routed call: a read for eligibility, admission from it, then the outcome. */
    const call = async (outcome: 'success' | 'failure' | 'neutral', on = breaker) => {
      const view = await on.peek('a')
      const admission = await on.tryAcquire('a', view)
      if (!admission.admitted) throw new Error('refused')
      await on.record(admission.permit, outcome)
    }
    const stored = async (): Promise<StoredBreaker | undefined> => store.inner.load('a')
    const okInWindow = async () => (await stored())?.record.buckets.reduce((n, b) => n + b.ok, 0) ?? 0
    return {
      breaker,
      newBreaker,
      store,
      call,
      stored,
      okInWindow,
      advance: (ms: number) => {
        now += ms
      },
    }
  }

  it_(
    'a success on a quiet closed breaker costs one read and no write; the flush writes the tally once',
    async () => {
      const { breaker, store, call, okInWindow } = setup()
      for (let i = 0; i < 5; i++) await call('success')
      expect({ loads: store.loads, writes: store.writes }).toEqual({ loads: 5, writes: 0 })
      expect(await okInWindow()).toBe(0)

      await breaker.flush()
      expect(store.writes).toBe(1)
      expect(await okInWindow()).toBe(5)
      await breaker.flush()
      expect(store.writes).toBe(1)
    },
  )

  it_('a failure is written at once and carries the tallied successes into the error rate', async () => {
    const { breaker, store, call } = setup({ consecutive_failures: 100, min_samples: 5 })
    for (let i = 0; i < 10; i++) await call('success')
    expect(store.writes).toBe(0)
    // Without the 10 successes, 5 failures of 5 calls would open it.
    for (let i = 0; i < 9; i++) await call('failure')
    expect((await breaker.snapshot('a')).state).toBe('closed')
    await call('failure')
    expect(await breaker.snapshot('a')).toMatchObject({ state: 'open', consecutiveFailures: 0 })
  })

  it_('a success after a failure is written at once: it ends the streak', async () => {
    const { breaker, store, call } = setup()
    await call('failure')
    await call('failure')
    const writes = store.writes
    await call('success')
    expect(store.writes).toBe(writes + 1)
    expect((await breaker.snapshot('a')).consecutiveFailures).toBe(0)
  })

  it_('drops the successes it tallied for a breaker another replica opened meanwhile', async () => {
    const { breaker, newBreaker, store, call, stored } = setup({ consecutive_failures: 2 })
    for (let i = 0; i < 3; i++) await call('success')
    const other = newBreaker()
    await call('failure', other)
    await call('failure', other)
    const writes = store.writes
    await breaker.flush()
    expect(store.writes).toBe(writes)
    expect((await stored())?.record).toMatchObject({ state: 'open', buckets: [] })
  })

  it_('flushes the tally by itself within successFlushMs', async () => {
    const { call, okInWindow } = setup({}, 20)
    await call('success')
    await call('success')
    await vi.waitFor(async () => expect(await okInWindow()).toBe(2), { timeout: 2000, interval: 10 })
  })

  it_(
    'admits from a fresh read without another one, and reads again when the read is stale or absent',
    async () => {
      const { breaker, store, advance } = setup()
      const view = await breaker.peek('a')
      expect((await breaker.tryAcquire('a', view)).admitted).toBe(true)
      expect(store.loads).toBe(1)
      advance(251)
      expect((await breaker.tryAcquire('a', view)).admitted).toBe(true)
      expect(store.loads).toBe(2)
      expect((await breaker.tryAcquire('a')).admitted).toBe(true)
      expect(store.loads).toBe(3)
    },
  )

  it_(
    'a trial admitted from a read still compare-and-sets: two callers holding the same read get one trial',
    async () => {
      const { breaker, call, advance } = setup({ consecutive_failures: 1 })
      await call('failure')
      advance(settings.cooldown_s * 1000)
      const [first, second] = await Promise.all([breaker.peek('a'), breaker.peek('a')])
      expect(first.open).toBe(false)
      const admissions = [await breaker.tryAcquire('a', first), await breaker.tryAcquire('a', second)]
      expect(admissions.map((a) => a.admitted)).toEqual([true, false])
      expect(admissions[1]).toMatchObject({ state: 'half_open' })
    },
  )

  it_('reads nothing for an ordinary call that ended without a verdict', async () => {
    const { store, call } = setup()
    await call('neutral')
    expect({ loads: store.loads, writes: store.writes }).toEqual({ loads: 1, writes: 0 })
  })
})

describe('the default flush interval', () => {
  // The memory store batches too: its write is no round trip, but a new record and window per call.
  it('batches quiet successes on the memory store as on a remote one', async () => {
    const store = new CountingStore(new MemoryBreakerStore())
    const breaker = new CircuitBreaker({ settings, store })
    for (let i = 0; i < 3; i++) {
      const admission = await breaker.tryAcquire('a')
      if (admission.admitted) await breaker.record(admission.permit, 'success')
    }
    expect(store.writes).toBe(0)
    await breaker.flush()
    expect(store.writes).toBe(1)
    const { record } = store.inner.load('a') as StoredBreaker
    expect(record.buckets.reduce((sum, b) => sum + b.ok, 0)).toBe(3)
  })
})
