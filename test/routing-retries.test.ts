// Retries through the real request path: which upstream got each attempt, how long the router
// waited, and what it refused to retry.
import { describe, expect, it } from 'vitest'
import {
  buildRoutingApp,
  chat,
  contentOf,
  fail,
  providersFor,
  reset,
  stall,
  startUpstreams,
  targetHealth,
  throttle,
} from './helpers/routing.js'

// Small backoff keeps the suite fast; the jitter itself is covered by router-backoff.test.ts.
const quickBackoff = { base: 1, max: 5 }

describe('retries land on another target', () => {
  it('tries each failing target once and counts every attempt in x-anygate-attempts', async () => {
    const { timeline, up } = await startUpstreams('a', 'b', 'c')
    up.a.always(fail(503))
    up.b.always(fail(502))
    const app = await buildRoutingApp({
      // Enough consecutive failures allowed that no breaker opens during the test.
      routing: { retries: 2, backoff_ms: quickBackoff, circuit_breaker: { consecutive_failures: 100 } },
      providers: providersFor(up),
      models: [{ name: 'trio', targets: ['a', 'b', 'c'].map((provider) => ({ provider, model: 'm' })) }],
    })
    const firstTried = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const before = timeline.arrivals.length
      const res = await chat(app, 'trio')
      const tried = timeline.names().slice(before)
      expect(res.statusCode).toBe(200)
      expect(contentOf(res.body)).toBe('from c')
      expect(res.headers['x-anygate-provider']).toBe('c')
      expect(res.headers['x-anygate-attempts']).toBe(String(tried.length))
      // Never the same upstream twice within one request, and c (the one that works) ends it.
      expect(new Set(tried).size).toBe(tried.length)
      expect(tried.at(-1)).toBe('c')
      firstTried.add(tried[0]!)
    }
    // The weighted order is drawn per request: the failing targets do not always go first.
    expect(firstTried.size).toBeGreaterThan(1)
  })

  it('moves on when the upstream resets the connection', async () => {
    const { up } = await startUpstreams('flaky', 'steady')
    up.flaky.always(reset())
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'flaky', model: 'm', priority: 0 },
            { provider: 'steady', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const res = await chat(app, 'pair')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('steady')
    expect(res.headers['x-anygate-attempts']).toBe('2')
    expect(up.flaky.requests).toHaveLength(1)
    expect((await targetHealth(app))['flaky/m']!.last_error).toMatchObject({ code: 'upstream_unreachable' })
  })

  it("moves on when an upstream stalls past the provider's first-byte timeout", async () => {
    const { up } = await startUpstreams('stuck', 'steady')
    up.stuck.always(stall())
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: quickBackoff },
      providers: {
        stuck: { ...providersFor(up).stuck, timeouts: { first_byte_ms: 150 } },
        steady: providersFor(up).steady,
      },
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'stuck', model: 'm', priority: 0 },
            { provider: 'steady', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const res = await chat(app, 'pair')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('steady')
    expect((await targetHealth(app))['stuck/m']!.last_error).toMatchObject({
      status: 504,
      code: 'upstream_timeout',
    })
  })

  it("moves on when an upstream stalls past the target's own timeout_ms", async () => {
    const { up } = await startUpstreams('stuck', 'steady')
    up.stuck.always(stall())
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: quickBackoff },
      // The provider's own timeouts stay at their defaults (minutes): only the target's applies.
      providers: providersFor(up),
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'stuck', model: 'm', priority: 0, timeout_ms: 200 },
            { provider: 'steady', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const started = performance.now()
    const res = await chat(app, 'pair')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('steady')
    expect(performance.now() - started).toBeLessThan(2000)
    await up.stuck.requests[0]!.ended
    expect(up.stuck.requests[0]!.aborted).toBe(true)
    expect((await targetHealth(app))['stuck/m']!.last_error).toMatchObject({ code: 'upstream_timeout' })
  })

  it('gives up with 504 once routing.timeout_ms is spent, however many retries are left', async () => {
    const { timeline, up } = await startUpstreams('a', 'b')
    up.a.always(stall())
    up.b.always(stall())
    const deadlineMs = 400
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', retries: 5, backoff_ms: quickBackoff, timeout_ms: deadlineMs },
      providers: providersFor(up),
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'a', model: 'm', priority: 0, timeout_ms: 300 },
            { provider: 'b', model: 'm', priority: 1, timeout_ms: 300 },
          ],
        },
      ],
    })
    const started = performance.now()
    const pending = chat(app, 'pair')
    await timeline.reached(2)
    const secondStarted = timeline.arrivals[1]!.at
    const secondEnded = up.b.requests[0]!.ended.then(() => performance.now())
    const res = await pending
    expect(res.statusCode).toBe(504)
    expect(res.json().error.code).toBe('upstream_timeout')
    expect(timeline.names()).toEqual(['a', 'b'])
    expect(performance.now() - started).toBeGreaterThanOrEqual(deadlineMs - 5)
    // a had its 300 ms; b only the ~100 ms left of the 400, not a full 300 of its own.
    expect((await secondEnded) - secondStarted).toBeLessThan(250)
  })

  it('stops after routing.retries extra attempts', async () => {
    const { timeline, up } = await startUpstreams('a', 'b', 'c')
    for (const upstream of Object.values(up)) upstream.always(fail(503))
    const app = await buildRoutingApp({
      routing: { retries: 1, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [{ name: 'trio', targets: ['a', 'b', 'c'].map((provider) => ({ provider, model: 'm' })) }],
    })
    const res = await chat(app, 'trio')
    expect(res.statusCode).toBe(503)
    expect(timeline.arrivals).toHaveLength(2)
    expect(new Set(timeline.names()).size).toBe(2)
  })
})

describe('Retry-After', () => {
  it('waits at least Retry-After before retrying the target that sent it', async () => {
    const { timeline, up } = await startUpstreams('solo')
    up.solo.script(throttle('1'))
    const app = await buildRoutingApp({
      routing: { retries: 1, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [{ name: 'one', targets: [{ provider: 'solo', model: 'm' }] }],
    })
    const res = await chat(app, 'one')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-attempts']).toBe('2')
    const [first, second] = timeline.arrivals
    // The wait starts after the 429 arrived, later than `first.at`; 5 ms covers timer rounding.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000 - 5)
  })

  it('does not make another target wait for it', async () => {
    const { timeline, up } = await startUpstreams('throttled', 'free')
    up.throttled.always(throttle('1'))
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'throttled', model: 'm', priority: 0 },
            { provider: 'free', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const res = await chat(app, 'pair')
    expect(res.headers['x-anygate-provider']).toBe('free')
    const [first, second] = timeline.arrivals
    expect(second!.upstream).toBe('free')
    expect(second!.at - first!.at).toBeLessThan(500)
  })

  it('gives up at once, passing Retry-After on, when the wait would outlast routing.timeout_ms', async () => {
    const { up } = await startUpstreams('solo')
    up.solo.always(throttle('5'))
    const app = await buildRoutingApp({
      routing: { retries: 2, backoff_ms: quickBackoff, timeout_ms: 2000 },
      providers: providersFor(up),
      models: [{ name: 'one', targets: [{ provider: 'solo', model: 'm' }] }],
    })
    const started = performance.now()
    const res = await chat(app, 'one')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(res.statusCode).toBe(429)
    expect(res.headers['retry-after']).toBe('5')
    expect(up.solo.requests).toHaveLength(1)
  })
})

describe('no retry on client errors', () => {
  it.each([400, 401, 403, 404, 413, 422])('makes exactly one upstream call on %i', async (status) => {
    const { timeline, up } = await startUpstreams('a', 'b')
    up.a.always(fail(status, { message: 'bad request', type: 'invalid_request_error' }))
    up.b.always(fail(status, { message: 'bad request', type: 'invalid_request_error' }))
    const app = await buildRoutingApp({
      routing: { retries: 3, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
          fallbacks: ['spare'],
        },
        { name: 'spare', targets: [{ provider: 'b', model: 'spare' }] },
      ],
    })
    const res = await chat(app, 'pair')
    expect(res.statusCode).toBe(status)
    expect(timeline.arrivals).toHaveLength(1)
    // A client error says nothing about the upstream's health.
    const health = await targetHealth(app)
    expect(Object.values(health).map((t) => t.state)).toEqual(['closed', 'closed', 'closed'])
  })
})
