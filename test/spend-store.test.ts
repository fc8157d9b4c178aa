// One suite for the spend and budget stores: the memory stores and the Redis stores (against the
// real Redis on 127.0.0.1:6379, under a unique prefix) must add, report, reserve, settle, expire
// and claim alerts the same way, including under concurrent reservations, where exactly what fits
// in the budget may be admitted.
import { describe, expect, it } from 'vitest'
import { type BudgetStore, MemoryBudgetStore } from '../plugins/spend/budget-store.js'
import { dayMs, utcDay } from '../plugins/spend/periods.js'
import { RedisBudgetStore } from '../plugins/spend/redis-budget-store.js'
import { RedisSpendStore } from '../plugins/spend/redis-spend-store.js'
import { MemorySpendStore, type SpendEntry, type SpendStore } from '../plugins/spend/spend-store.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
import { manualClock, todayAt10 } from './spend-helpers.js'

const prefix = uniquePrefix('spend-store')
const redis = await connectRedisForFile(prefix)
/** `YYYY-MM-DD` `offset` days from today: Redis expires keys by the real clock. */
const day = (offset: number) => utcDay(todayAt10 + offset * dayMs)
const dayStart = (offset: number) => todayAt10 - 10 * 3_600_000 + offset * dayMs

let storeCount = 0
const nextPrefix = () => `${prefix}${++storeCount}:`

interface Stores {
  spend: SpendStore
  budget: BudgetStore
  clock: ReturnType<typeof manualClock>
}

const kinds: { name: string; create: ((retentionDays?: number) => Stores) | undefined }[] = [
  {
    name: 'memory',
    create: (retentionDays = 30) => {
      const clock = manualClock()
      return {
        clock,
        spend: new MemorySpendStore({ retentionDays, now: clock.now }),
        budget: new MemoryBudgetStore(clock.now),
      }
    },
  },
  {
    name: 'redis',
    create:
      redis &&
      ((retentionDays = 30) => {
        const keyPrefix = nextPrefix()
        return {
          clock: manualClock(),
          spend: new RedisSpendStore({ client: redis, keyPrefix, retentionDays }),
          budget: new RedisBudgetStore({ client: redis, keyPrefix }),
        }
      }),
  },
]

const entry = (overrides: Partial<SpendEntry> = {}): SpendEntry => ({
  keyId: 'cfg-team-a',
  keyName: 'team-a',
  model: 'smart',
  requests: 1,
  promptTokens: 100,
  completionTokens: 20,
  costNanos: 1_250,
  ...overrides,
})

describe.each(kinds)('$name stores', ({ create }) => {
  const it_ = create ? it : it.skip
  const stores = (retentionDays?: number) => create!(retentionDays)

  describe('spend', () => {
    it_('adds calls up per day, key and model', async () => {
      const { spend } = stores()
      await spend.add(day(0), entry())
      await spend.add(day(0), entry({ promptTokens: 1, completionTokens: 2, costNanos: 3 }))
      await spend.add(day(0), entry({ model: 'cheap' }))
      await spend.add(day(1), entry({ keyId: 'master', keyName: 'master' }))
      const rows = await spend.query({ days: [day(-1), day(0), day(1)] })
      expect(rows.sort((a, b) => `${a.day}${a.model}`.localeCompare(`${b.day}${b.model}`))).toEqual([
        {
          day: day(0),
          keyId: 'cfg-team-a',
          model: 'cheap',
          requests: 1,
          promptTokens: 100,
          completionTokens: 20,
          costNanos: 1250,
        },
        {
          day: day(0),
          keyId: 'cfg-team-a',
          model: 'smart',
          requests: 2,
          promptTokens: 101,
          completionTokens: 22,
          costNanos: 1253,
        },
        {
          day: day(1),
          keyId: 'master',
          model: 'smart',
          requests: 1,
          promptTokens: 100,
          completionTokens: 20,
          costNanos: 1250,
        },
      ])
    })

    it_('filters by key and model, and reads only the days asked for', async () => {
      const { spend } = stores()
      await spend.add(day(0), entry())
      await spend.add(day(0), entry({ keyId: 'cfg-b', keyName: 'b', model: 'odd:model/with|chars' }))
      await spend.add(day(2), entry())
      expect((await spend.query({ days: [day(0)], keyId: 'cfg-b' })).map((r) => r.model)).toEqual([
        'odd:model/with|chars',
      ])
      expect(await spend.query({ days: [day(0)], model: 'smart', keyId: 'cfg-b' })).toEqual([])
      expect((await spend.query({ days: [day(2)] })).map((r) => r.day)).toEqual([day(2)])
    })

    it_('keeps the latest name of each key', async () => {
      const { spend } = stores()
      await spend.add(day(0), entry())
      await spend.add(day(0), entry({ keyName: 'team-a-renamed' }))
      const names = await spend.keyNames(['cfg-team-a', 'cfg-unknown'])
      expect([...names]).toEqual([['cfg-team-a', 'team-a-renamed']])
    })

    it_('counts every one of 100 concurrent adds', async () => {
      const { spend } = stores()
      await Promise.all(Array.from({ length: 100 }, () => spend.add(day(0), entry())))
      const [row] = await spend.query({ days: [day(0)] })
      expect(row).toMatchObject({
        requests: 100,
        promptTokens: 10_000,
        completionTokens: 2_000,
        costNanos: 125_000,
      })
    })
  })

  describe('budget', () => {
    const now = todayAt10
    const hold = (id: string, amountNanos: number, expiresAt = now + 3_600_000) => ({
      id,
      amountNanos,
      expiresAt,
    })
    const keyExpiry = dayStart(2)

    it_('admits while spent + reserved + the call fit, then refuses without holding anything', async () => {
      const { budget } = stores()
      expect(await budget.reserve('k:d1', hold('a', 600), 1000, now, keyExpiry)).toEqual({
        admitted: true,
        spentNanos: 0,
        reservedNanos: 600,
      })
      expect(await budget.reserve('k:d1', hold('b', 500), 1000, now, keyExpiry)).toEqual({
        admitted: false,
        spentNanos: 0,
        reservedNanos: 600,
      })
      expect(await budget.reserve('k:d1', hold('c', 400), 1000, now, keyExpiry)).toMatchObject({
        admitted: true,
      })
      expect(await budget.state('k:d1', now)).toEqual({ spentNanos: 0, reservedNanos: 1000 })
    })

    it_(
      'settles: releases the hold, adds the cost, returns the new spend, ignores a second release',
      async () => {
        const { budget } = stores()
        await budget.reserve('k:d1', hold('a', 600), 1000, now, keyExpiry)
        expect(await budget.settle('k:d1', 'a', 250, keyExpiry)).toBe(250)
        expect(await budget.settle('k:d1', 'a', 0, keyExpiry)).toBe(250)
        expect(await budget.settle('k:d1', null, 100, keyExpiry)).toBe(350)
        expect(await budget.state('k:d1', now)).toEqual({ spentNanos: 350, reservedNanos: 0 })
      },
    )

    it_('refuses everything once the budget is spent, even a call estimated at nothing', async () => {
      const { budget } = stores()
      await budget.settle('k:d1', null, 1000, keyExpiry)
      expect(await budget.reserve('k:d1', hold('a', 0), 1000, now, keyExpiry)).toMatchObject({
        admitted: false,
      })
      expect((await budget.reserve('k:d2', hold('a', 0), 1000, now, keyExpiry)).admitted).toBe(true)
    })

    it_('keeps scopes apart', async () => {
      const { budget } = stores()
      await budget.settle('k:d1', null, 900, keyExpiry)
      expect((await budget.reserve('k:d2', hold('a', 900), 1000, now, keyExpiry)).admitted).toBe(true)
      expect((await budget.reserve('other:d1', hold('a', 900), 1000, now, keyExpiry)).admitted).toBe(true)
    })

    it_('drops a hold nobody settled once it expired', async () => {
      const { budget } = stores()
      await budget.reserve('k:d1', hold('lost', 900, now + 1000), 1000, now, keyExpiry)
      expect((await budget.reserve('k:d1', hold('b', 200), 1000, now + 999, keyExpiry)).admitted).toBe(false)
      expect(await budget.state('k:d1', now + 1000)).toEqual({ spentNanos: 0, reservedNanos: 0 })
      expect(await budget.reserve('k:d1', hold('b', 200), 1000, now + 1000, keyExpiry)).toEqual({
        admitted: true,
        spentNanos: 0,
        reservedNanos: 200,
      })
      // The late settlement of the dropped hold adds its cost without releasing anything twice.
      expect(await budget.settle('k:d1', 'lost', 300, keyExpiry)).toBe(300)
      expect(await budget.state('k:d1', now + 1000)).toEqual({ spentNanos: 300, reservedNanos: 200 })
    })

    it_('handles amounts beyond 14 digits exactly (a $100,000 budget in nano-USD)', async () => {
      const { budget } = stores()
      const limit = 100_000 * 1e9
      await budget.reserve('k:big', hold('a', 99_999_999_999_999), limit, now, keyExpiry)
      expect(await budget.settle('k:big', 'a', 99_999_999_999_999, keyExpiry)).toBe(99_999_999_999_999)
      expect(await budget.state('k:big', now)).toEqual({ spentNanos: 99_999_999_999_999, reservedNanos: 0 })
    })

    it_('admits exactly what fits out of 50 concurrent reservations', async () => {
      const { budget } = stores()
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          budget.reserve('k:race', hold(`h${i}`, 70), 1000, now, keyExpiry),
        ),
      )
      expect(outcomes.filter((o) => o.admitted)).toHaveLength(14)
      expect(await budget.state('k:race', now)).toEqual({ spentNanos: 0, reservedNanos: 980 })
    })

    it_('claims an alert once per scope and threshold', async () => {
      const { budget, clock } = stores()
      // Ahead of both clocks: Redis expires the claim by its own (real) one, the memory store by the
      // test's, which starts at 10:00 today and so is behind real time until then.
      const until = Math.max(Date.now(), clock.now()) + 60_000
      expect(await budget.claimAlert('k:d1', 0.8, until)).toBe(true)
      expect(await budget.claimAlert('k:d1', 0.8, until)).toBe(false)
      expect(await budget.claimAlert('k:d1', 1, until)).toBe(true)
      expect(await budget.claimAlert('k:d2', 0.8, null)).toBe(true)
      expect(await budget.claimAlert('k:d2', 0.8, null)).toBe(false)
    })
  })
})

it('the memory store lets an alert be claimed again once its claim expired', async () => {
  const clock = manualClock()
  const budget = new MemoryBudgetStore(clock.now)
  expect(await budget.claimAlert('k:d1', 0.8, clock.now() + 1000)).toBe(true)
  clock.advance(999)
  expect(await budget.claimAlert('k:d1', 0.8, clock.now() + 1000)).toBe(false)
  clock.advance(1)
  expect(await budget.claimAlert('k:d1', 0.8, clock.now() + 1000)).toBe(true)
})

describe('retention', () => {
  it('the memory store drops days past the retention when a new day starts', async () => {
    const clock = manualClock()
    const spend = new MemorySpendStore({ retentionDays: 2, now: clock.now })
    await spend.add(day(-3), entry())
    await spend.add(day(-2), entry())
    await spend.add(day(-1), entry())
    // day(-2) ended at the start of day(-1): kept two days after that, until the start of day(1).
    clock.set(dayStart(1) + 1)
    await spend.add(day(1), entry())
    const days = (await spend.query({ days: [day(-3), day(-2), day(-1), day(1)] })).map((r) => r.day)
    expect(days).toEqual([day(-1), day(1)])
  })

  it.skipIf(!redis)('the Redis store sets each day to expire retention_days after it ends', async () => {
    const keyPrefix = nextPrefix()
    const spend = new RedisSpendStore({ client: redis!, keyPrefix, retentionDays: 2 })
    await spend.add(day(0), entry())
    expect(await redis!.pexpiretime(spend.dayKey(day(0)))).toBe(dayStart(3))
  })

  it.skipIf(!redis)(
    'the Redis budget store expires a period’s counters and keeps a total budget’s',
    async () => {
      const keyPrefix = nextPrefix()
      const budget = new RedisBudgetStore({ client: redis!, keyPrefix })
      const until = dayStart(2)
      await budget.reserve('k:d1', { id: 'a', amountNanos: 5, expiresAt: until }, 10, todayAt10, until)
      await budget.settle('k:total', null, 5, null)
      expect(await redis!.pexpiretime(budget.totalsKey('k:d1'))).toBe(until)
      expect(await redis!.pexpiretime(`${budget.totalsKey('k:d1')}:holds`)).toBe(until)
      expect(await redis!.pexpiretime(budget.totalsKey('k:total'))).toBe(-1)
    },
  )
})
