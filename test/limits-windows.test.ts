// One suite for the limit stores, memory and Redis (the real one on 127.0.0.1:6379): the sliding
// rpm/tpm windows driven by an injected clock, all-or-nothing takes, settling, and max_parallel
// leases. Plus the pure window arithmetic and OpenAI's duration format.
import { describe, expect, it } from 'vitest'
import { MemoryParallelSlots, type ParallelSlots, RedisParallelSlots } from '../plugins/limits/parallel.js'
import { RedisLimitWindows } from '../plugins/limits/redis-windows.js'
import { formatDuration } from '../plugins/limits/responses.js'
import { msUntilFits, msUntilReset, remainingIn, slidingCount } from '../plugins/limits/sliding-window.js'
import { type LimitWindows, MemoryLimitWindows } from '../plugins/limits/windows.js'
import { manualClock } from './helpers/clock.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'

const prefix = uniquePrefix('limit-windows')
const redis = await connectRedisForFile(prefix)

/** A clock the test moves; starts at a minute boundary (a multiple of 60 s since the epoch). */
const minuteClock = () => manualClock(1_700_000_040_000)

let storeCount = 0
const nextPrefix = () => `${prefix}${++storeCount}:`

const windowStores: { name: string; create: ((now: () => number) => LimitWindows) | undefined }[] = [
  { name: 'MemoryLimitWindows', create: (now) => new MemoryLimitWindows(now) },
  {
    name: 'RedisLimitWindows',
    create:
      redis &&
      ((now) =>
        new RedisLimitWindows({
          client: redis,
          keyPrefix: nextPrefix(),
          onError: 'deny',
          now,
          store: 'test',
        })),
  },
]

describe.each(windowStores)('$name', ({ create }) => {
  const it_ = create ? it : it.skip

  it_('admits up to the limit in a minute, then refuses without counting the refusal', async () => {
    const clock = minuteClock()
    const windows = create!(clock.now)
    const charge = { key: 'rpm:key:a', limit: 3, amount: 1 }
    for (let i = 1; i <= 3; i++) {
      const taken = await windows.take([charge])
      expect(taken).toMatchObject({ admitted: true, refused: -1, counts: [{ current: i, previous: 0 }] })
    }
    const refused = await windows.take([charge])
    expect(refused).toMatchObject({ admitted: false, refused: 0, counts: [{ current: 3, previous: 0 }] })
    // Another key has its own window.
    expect((await windows.take([{ ...charge, key: 'rpm:key:b' }])).admitted).toBe(true)
  })

  it_('slides: the previous minute weighs by how much of it the window still covers', async () => {
    const clock = minuteClock()
    const windows = create!(clock.now)
    const charge = { key: 'rpm:key:a', limit: 4, amount: 1 }
    for (let i = 0; i < 4; i++) await windows.take([charge])
    clock.advance(60_000) // next minute, 0 ms in: the 4 still count in full
    expect((await windows.take([charge])).admitted).toBe(false)
    clock.advance(15_000) // 25% in: 4 * 0.75 = 3, room for one
    const taken = await windows.take([charge])
    expect(taken).toMatchObject({
      admitted: true,
      msIntoMinute: 15_000,
      counts: [{ current: 1, previous: 4 }],
    })
    expect((await windows.take([charge])).admitted).toBe(false)
    clock.advance(120_000) // two minutes later both minutes are gone
    const later = await windows.take([charge])
    expect(later).toMatchObject({ admitted: true, counts: [{ current: 1, previous: 0 }] })
  })

  it_('counts an amount in every window or in none', async () => {
    const clock = minuteClock()
    const windows = create!(clock.now)
    const key = { key: 'tpm:key:a', limit: 1000, amount: 600 }
    const model = { key: 'tpm:model:fast', limit: 700, amount: 600 }
    expect((await windows.take([key, model])).admitted).toBe(true)
    const refused = await windows.take([
      { ...key, amount: 200 },
      { ...model, amount: 200 },
    ])
    expect(refused).toMatchObject({ admitted: false, refused: 1 })
    // The key's window did not count the refused 200: 400 more still fit there.
    expect((await windows.take([{ ...key, amount: 400 }])).admitted).toBe(true)
  })

  it_('settles a reservation in the minute it was counted, never below zero', async () => {
    const clock = minuteClock()
    const windows = create!(clock.now)
    const charge = { key: 'tpm:key:a', limit: 1000, amount: 900 }
    const reserved = await windows.take([charge])
    await windows.adjust(charge.key, reserved.minute, 100 - 900) // the call used 100
    expect((await windows.take([{ ...charge, amount: 900 }])).counts[0]).toEqual({
      current: 1000,
      previous: 0,
    })
    // Settling once the minute is over corrects the previous minute's count.
    clock.advance(60_000)
    await windows.adjust(charge.key, reserved.minute, -1000)
    await windows.adjust(charge.key, reserved.minute, -1000)
    expect((await windows.take([{ ...charge, amount: 1 }])).counts[0]).toEqual({ current: 1, previous: 0 })
    // A minute that has slid out of every window is left alone.
    clock.advance(180_000)
    await windows.adjust(charge.key, reserved.minute, 500)
    expect((await windows.take([{ ...charge, amount: 1 }])).counts[0]).toEqual({ current: 1, previous: 0 })
  })
})

const slotStores: { name: string; create: ((now: () => number) => ParallelSlots) | undefined }[] = [
  { name: 'MemoryParallelSlots', create: () => new MemoryParallelSlots() },
  {
    name: 'RedisParallelSlots',
    create:
      redis &&
      ((now) =>
        new RedisParallelSlots({
          client: redis,
          keyPrefix: nextPrefix(),
          onError: 'deny',
          leaseMs: 10_000,
          now,
        })),
  },
]

describe.each(slotStores)('$name', ({ create }) => {
  const it_ = create ? it : it.skip

  it_('holds at most the limit in flight and frees a slot on release', async () => {
    const slots = create!(minuteClock().now)
    const first = await slots.acquire('k', 2)
    const second = await slots.acquire('k', 2)
    expect([first.acquired, second.acquired]).toEqual([true, true])
    expect(await slots.acquire('k', 2)).toMatchObject({ acquired: false, inFlight: 2, lease: undefined })
    expect((await slots.acquire('other', 2)).acquired).toBe(true)
    await slots.release('k', first.lease!)
    expect(await slots.inFlight('k')).toBe(1)
    expect((await slots.acquire('k', 2)).acquired).toBe(true)
    await slots.release('k', second.lease!)
    expect(await slots.inFlight('k')).toBe(1)
  })

  it_('frees nothing it did not take: a refused acquire leaves no lease behind', async () => {
    const slots = create!(minuteClock().now)
    const held = await slots.acquire('k', 1)
    await slots.acquire('k', 1)
    await slots.acquire('k', 1)
    await slots.release('k', held.lease!)
    expect(await slots.inFlight('k')).toBe(0)
  })
})

describe.runIf(redis)('RedisParallelSlots leases', () => {
  it('drops the leases of a replica that never released', async () => {
    const clock = minuteClock()
    const slots = new RedisParallelSlots({
      client: redis!,
      keyPrefix: nextPrefix(),
      onError: 'deny',
      leaseMs: 10_000,
      now: clock.now,
    })
    await slots.acquire('k', 1)
    expect((await slots.acquire('k', 1)).acquired).toBe(false)
    clock.advance(10_001)
    expect(await slots.inFlight('k')).toBe(0)
    expect((await slots.acquire('k', 1)).acquired).toBe(true)
  })
})

describe('the sliding window arithmetic', () => {
  it('weighs the previous minute linearly', () => {
    expect(slidingCount({ previous: 10, current: 2 }, 0)).toBe(12)
    expect(slidingCount({ previous: 10, current: 2 }, 45_000)).toBe(4.5)
    expect(remainingIn({ previous: 10, current: 2 }, 10, 45_000)).toBe(5)
    expect(remainingIn({ previous: 10, current: 2 }, 10, 0)).toBe(0)
  })

  it('says how long until an amount fits: this minute as the previous slides out, else the next', () => {
    // 10 - 1 - 2 = 7 spare; previous 10 must fall to 7: 30% into the minute, 18 s.
    expect(msUntilFits({ previous: 10, current: 2 }, 10, 1, 0)).toBe(18_000)
    expect(msUntilFits({ previous: 10, current: 2 }, 10, 1, 6_000)).toBe(12_000)
    // The current minute alone is full: the rest of it, then until enough of it slid out.
    expect(msUntilFits({ previous: 0, current: 10 }, 10, 1, 20_000)).toBe(40_000 + 6_000)
    expect(msUntilFits({ previous: 0, current: 0 }, 10, 1, 20_000)).toBe(0)
    expect(msUntilFits({ previous: 0, current: 0 }, 10, 11, 0)).toBe(Number.POSITIVE_INFINITY)
  })

  it('resets once neither minute counts anything', () => {
    expect(msUntilReset({ previous: 0, current: 0 }, 5_000)).toBe(0)
    expect(msUntilReset({ previous: 3, current: 0 }, 5_000)).toBe(55_000)
    expect(msUntilReset({ previous: 3, current: 1 }, 5_000)).toBe(115_000)
  })
})

describe('formatDuration writes durations as OpenAI does', () => {
  it.each([
    [0, '0s'],
    [12, '12ms'],
    [999.2, '1s'],
    [1000, '1s'],
    [1500, '1.5s'],
    [17_280, '17.28s'],
    [360_000, '6m0s'],
    [61_500, '1m1.5s'],
    [3_723_000, '1h2m3s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})
