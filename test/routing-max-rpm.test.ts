// A target's max_rpm: the sliding-window arithmetic, the same window suite on memory and on Redis,
// and the router skipping a target at its limit (to the next target, a fallback, or a 429).
import { afterAll, describe, expect, it } from 'vitest'
import {
  MemoryTargetRpmWindow,
  RedisTargetRpmWindow,
  slidingAdmission,
  type TargetRpmWindow,
} from '../plugins/router/target-rpm.js'
import { connectTestRedis, deleteKeys, uniquePrefix } from './helpers/redis.js'
import {
  buildRoutingApp,
  chat,
  fail,
  manualClock,
  openaiProvider,
  providersFor,
  startScriptedUpstream,
  startUpstreams,
} from './helpers/routing.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('max-rpm')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

describe('slidingAdmission', () => {
  it('admits while the weighted count leaves room for one more call', () => {
    expect(slidingAdmission(0, 9, 10, 0).admitted).toBe(true)
    expect(slidingAdmission(0, 10, 10, 0).admitted).toBe(false)
    // Half-way into the minute, half of the previous minute's 10 still counts.
    expect(slidingAdmission(10, 4, 10, 30_000).admitted).toBe(true)
    expect(slidingAdmission(10, 5, 10, 30_000).admitted).toBe(false)
  })

  it('says how long until a slot frees up', () => {
    // Current alone fills the limit: wait for the next minute.
    expect(slidingAdmission(0, 10, 10, 15_000).retryAfterMs).toBe(45_000)
    // 10 previous + 5 current at 30 s: room once previous' share drops to 4, at 36 s.
    expect(slidingAdmission(10, 5, 10, 30_000).retryAfterMs).toBe(6_000)
  })
})

// One suite for both windows: replicas on Redis must behave exactly like one process in memory.
const windows: Array<[string, (now: () => number) => TargetRpmWindow | undefined]> = [
  ['memory', (now) => new MemoryTargetRpmWindow(now)],
  [
    'redis',
    (now) =>
      redis &&
      new RedisTargetRpmWindow({
        client: redis,
        keyPrefix: `${prefix}${Math.random().toString(36).slice(2)}:`,
        onError: 'allow',
        now,
      }),
  ],
]

describe.each(windows)('the %s target window', (name, make) => {
  it.skipIf(name === 'redis' && !redis)(
    'holds the limit in a minute and slides across the boundary',
    async () => {
      // Start on a minute boundary so the arithmetic below is exact.
      const clock = manualClock(Math.ceil(Date.now() / 60_000) * 60_000)
      const window = make(clock.now)!
      const takes = async (n: number) => {
        const results = []
        for (let i = 0; i < n; i++) results.push((await window.tryTake('p/m', 4)).admitted)
        return results
      }
      expect(await takes(5)).toEqual([true, true, true, true, false])
      // Other targets have their own windows.
      expect((await window.tryTake('q/m', 4)).admitted).toBe(true)
      // 45 s into the next minute a quarter of the previous 4 still counts: 1 + 3 new ones fit.
      clock.advance(60_000 + 45_000)
      expect(await takes(4)).toEqual([true, true, true, false])
      // Two minutes later nothing of the old counts is left.
      clock.advance(120_000)
      expect(await takes(5)).toEqual([true, true, true, true, false])
    },
  )

  it.skipIf(name === 'redis' && !redis)('admits exactly the limit under concurrent takes', async () => {
    const window = make(Date.now)!
    const results = await Promise.all(Array.from({ length: 50 }, () => window.tryTake('busy/m', 20)))
    expect(results.filter((r) => r.admitted)).toHaveLength(20)
    expect(results.find((r) => !r.admitted)!.retryAfterMs).toBeGreaterThan(0)
  })
})

describe('the router and max_rpm', () => {
  it('sends the calls over a target limit to the next target, without counting an attempt', async () => {
    const { up } = await startUpstreams('capped', 'spare')
    const app = await buildRoutingApp({
      routing: { strategy: 'priority' },
      providers: providersFor(up),
      models: [
        {
          name: 'paced',
          targets: [
            { provider: 'capped', model: 'm', priority: 0, max_rpm: 2 },
            { provider: 'spare', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const served = []
    for (let i = 0; i < 4; i++) {
      const res = await chat(app, 'paced')
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-anygate-attempts']).toBe('1')
      served.push(res.headers['x-anygate-provider'])
    }
    expect(served).toEqual(['capped', 'capped', 'spare', 'spare'])
    expect(up.capped.requests).toHaveLength(2)
  })

  it('answers 429 with Retry-After when every target is at its limit, and a fallback takes over if there is one', async () => {
    const { up } = await startUpstreams('only', 'backup')
    const clock = manualClock(Math.ceil(Date.now() / 60_000) * 60_000 + 20_000)
    const app = await buildRoutingApp(
      {
        providers: providersFor(up),
        models: [
          { name: 'solo', targets: [{ provider: 'only', model: 'm', max_rpm: 1 }] },
          { name: 'guarded', targets: [{ provider: 'only', model: 'n', max_rpm: 1 }], fallbacks: ['spare'] },
          { name: 'spare', targets: [{ provider: 'backup', model: 'm' }] },
        ],
      },
      { now: clock.now },
    )
    expect((await chat(app, 'solo')).statusCode).toBe(200)
    const refused = await chat(app, 'solo')
    expect(refused.statusCode).toBe(429)
    expect(refused.json().error).toMatchObject({ type: 'rate_limit_error', code: 'target_rate_limited' })
    expect(refused.json().error.message).toContain('max_rpm')
    // 20 s into the minute: the slot frees at the next minute.
    expect(refused.headers['retry-after']).toBe('40')
    expect(up.only.requests).toHaveLength(1)

    expect((await chat(app, 'guarded')).headers['x-anygate-provider']).toBe('only')
    const fellBack = await chat(app, 'guarded')
    expect(fellBack.statusCode).toBe(200)
    expect(fellBack.headers['x-anygate-provider']).toBe('backup')
    expect(fellBack.headers['x-anygate-fallback']).toBe('guarded -> spare')
  })

  it.skipIf(!redis)('is one limit for replicas sharing a Redis store', async () => {
    const upstream = await startScriptedUpstream('shared')
    const config = {
      store: { type: 'redis', url: 'redis://127.0.0.1:6379', key_prefix: `${prefix}replicas:` },
      providers: { openai: openaiProvider(upstream) },
      models: [{ name: 'svc', targets: [{ provider: 'openai', model: 'm', max_rpm: 5 }] }],
    }
    const [a, b] = [await buildRoutingApp(config), await buildRoutingApp(config)]
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => chat(i % 2 ? a : b, 'svc')))
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(5)
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(7)
    expect(upstream.requests).toHaveLength(5)
  })
})

describe('routing headers on errors', () => {
  it('tell which upstream answered the error and after how many attempts', async () => {
    const { up } = await startUpstreams('first', 'second')
    up.first.always(fail(503))
    up.second.always(fail(502))
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', retries: 1, backoff_ms: { base: 1, max: 2 } },
      providers: providersFor(up),
      models: [
        {
          name: 'failing',
          targets: [
            { provider: 'first', model: 'a', priority: 0 },
            { provider: 'second', model: 'b', priority: 1 },
          ],
        },
      ],
    })
    const res = await chat(app, 'failing')
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-anygate-attempts']).toBe('2')
    expect(res.headers['x-anygate-provider']).toBe('second')
    expect(res.headers['x-anygate-model']).toBe('b')
  })
})
