// Each load-balancing strategy seen from the outside: requests through POST /v1/chat/completions,
// the serving target read from x-anygate-provider and from what each fake upstream received.
import { describe, expect, it } from 'vitest'
import {
  answer,
  buildRoutingApp,
  chat,
  fail,
  hold,
  providersFor,
  startUpstreams,
  targetHealth,
} from './helpers/routing.js'

const providerOf = (res: { headers: Record<string, unknown> }) => String(res.headers['x-anygate-provider'])

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

describe('weighted', () => {
  it('sends 75% ±5% of 2,000 requests to a weight-3 target beside a weight-1 one', async () => {
    // In-process mock providers: the point is the router's draw, and 2,000 loopback calls would only
    // add time.
    const weights = { a: 3, b: 1 }
    const app = await buildRoutingApp({
      providers: { a: { type: 'mock' }, b: { type: 'mock' } },
      models: [
        {
          name: 'split',
          targets: [
            { provider: 'a', model: 'echo-a', weight: weights.a },
            { provider: 'b', model: 'echo-b', weight: weights.b },
          ],
        },
      ],
    })
    const served: string[] = []
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => chat(app, 'split')))
      for (const res of replies) {
        expect(res.statusCode).toBe(200)
        served.push(providerOf(res))
      }
    }
    const counts = countBy(served)
    expect(Object.keys(counts).sort()).toEqual(['a', 'b'])
    const expected = weights.a / (weights.a + weights.b)
    expect(Math.abs(counts.a! / served.length - expected)).toBeLessThanOrEqual(0.05)
  })
})

describe('round-robin', () => {
  it('takes the targets in turn', async () => {
    const app = await buildRoutingApp({
      routing: { strategy: 'round-robin' },
      providers: { a: { type: 'mock' }, b: { type: 'mock' }, c: { type: 'mock' } },
      models: [
        {
          name: 'turns',
          targets: ['a', 'b', 'c'].map((provider) => ({ provider, model: `echo-${provider}` })),
        },
      ],
    })
    const served: string[] = []
    for (let i = 0; i < 9; i++) served.push(providerOf(await chat(app, 'turns')))
    const firstRound = served.slice(0, 3)
    expect(new Set(firstRound).size).toBe(3)
    // Every later round repeats the first one's order: no target takes two turns in a row.
    expect(served).toEqual([...firstRound, ...firstRound, ...firstRound])
  })

  it('can be chosen per model over the routing default', async () => {
    const app = await buildRoutingApp({
      routing: { strategy: 'weighted' },
      providers: { a: { type: 'mock' }, b: { type: 'mock' } },
      models: [
        {
          name: 'turns',
          strategy: 'round-robin',
          targets: [
            // A weighted draw would send nearly everything to `a`.
            { provider: 'a', model: 'echo-a', weight: 1000 },
            { provider: 'b', model: 'echo-b', weight: 1 },
          ],
        },
      ],
    })
    const served: string[] = []
    for (let i = 0; i < 6; i++) served.push(providerOf(await chat(app, 'turns')))
    expect(countBy(served)).toEqual({ a: 3, b: 3 })
    for (let i = 1; i < served.length; i++) expect(served[i]).not.toBe(served[i - 1])
  })
})

describe('least-busy', () => {
  it('keeps sending to the idle target while the other has a call in flight', async () => {
    const { timeline, up } = await startUpstreams('x', 'y')
    up.x.always(hold())
    up.y.always(hold())
    const app = await buildRoutingApp({
      routing: { strategy: 'least-busy' },
      providers: providersFor(up),
      models: [
        {
          name: 'busy',
          targets: [
            { provider: 'x', model: 'm-x' },
            { provider: 'y', model: 'm-y' },
          ],
        },
      ],
    })
    const first = chat(app, 'busy')
    await timeline.reached(1)
    const busy = timeline.arrivals[0]!.upstream as 'x' | 'y'
    const idle = busy === 'x' ? 'y' : 'x'
    up[idle].always(answer())
    expect((await targetHealth(app))[`${busy}/m-${busy}`]!.in_flight).toBe(1)

    const served: string[] = []
    for (let i = 0; i < 12; i++) served.push(providerOf(await chat(app, 'busy')))
    // A coin flip would hit the busy target about half the time; least-busy never does.
    expect(served).toEqual(Array(12).fill(idle))
    expect(up[busy].requests).toHaveLength(1)

    up[busy].releaseHeld()
    expect(providerOf(await first)).toBe(busy)
  })
})

describe('priority', () => {
  it('uses the lowest priority number until it fails, then the next, then returns to the first', async () => {
    const { up } = await startUpstreams('primary', 'secondary')
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: { base: 1, max: 5 } },
      providers: providersFor(up),
      models: [
        {
          name: 'ranked',
          // Listed second, so config order alone would not pick it.
          targets: [
            { provider: 'secondary', model: 'm2', priority: 1, weight: 10 },
            { provider: 'primary', model: 'm1', priority: 0 },
          ],
        },
      ],
    })
    for (let i = 0; i < 5; i++) expect(providerOf(await chat(app, 'ranked'))).toBe('primary')
    expect(up.secondary.requests).toHaveLength(0)

    up.primary.script(fail(500))
    const failedOver = await chat(app, 'ranked')
    expect(failedOver.statusCode).toBe(200)
    expect(providerOf(failedOver)).toBe('secondary')
    expect(failedOver.headers['x-anygate-attempts']).toBe('2')
    expect(up.primary.requests).toHaveLength(6)
    expect(up.secondary.requests).toHaveLength(1)

    expect(providerOf(await chat(app, 'ranked'))).toBe('primary')
  })
})

describe('lowest-cost', () => {
  it('picks the cheapest target, and the next cheapest when it fails', async () => {
    const { up } = await startUpstreams('pricey', 'cheap', 'middle')
    const app = await buildRoutingApp({
      routing: { strategy: 'lowest-cost', backoff_ms: { base: 1, max: 5 } },
      providers: providersFor(up),
      models: [
        {
          name: 'thrifty',
          targets: [
            {
              provider: 'pricey',
              model: 'big',
              weight: 5,
              price: { input_per_mtok: 10, output_per_mtok: 30 },
            },
            { provider: 'cheap', model: 'small', price: { input_per_mtok: 0.1, output_per_mtok: 0.4 } },
            { provider: 'middle', model: 'mid', price: { input_per_mtok: 1, output_per_mtok: 2 } },
          ],
        },
      ],
    })
    for (let i = 0; i < 8; i++) expect(providerOf(await chat(app, 'thrifty'))).toBe('cheap')

    up.cheap.script(fail(503))
    const res = await chat(app, 'thrifty')
    expect(providerOf(res)).toBe('middle')
    expect(res.headers['x-anygate-attempts']).toBe('2')
    expect(up.pricey.requests).toHaveLength(0)
  })
})

describe("lowest-cost with the request's token mix and the pricing table", () => {
  // Cheap to read, dear to write, and the reverse: which one is cheaper depends on the request.
  const reader = { input_per_mtok: 0.1, output_per_mtok: 20 }
  const writer = { input_per_mtok: 5, output_per_mtok: 1 }

  it('weighs prices by the estimated prompt tokens and the answer bound', async () => {
    const { up } = await startUpstreams('reader', 'writer')
    const app = await buildRoutingApp({
      routing: { strategy: 'lowest-cost' },
      providers: providersFor(up),
      models: [
        {
          name: 'mixed',
          targets: [
            { provider: 'reader', model: 'gpt-4o', price: reader },
            { provider: 'writer', model: 'gpt-4o-mini', price: writer },
          ],
        },
      ],
    })
    // ~2,000 prompt tokens and a one-token answer: input dominates, the reader is cheaper.
    const longPrompt = { messages: [{ role: 'user', content: 'lorem ipsum '.repeat(1000) }], max_tokens: 1 }
    for (let i = 0; i < 4; i++) expect(providerOf(await chat(app, 'mixed', longPrompt))).toBe('reader')
    // A short prompt and a 4,000-token answer bound: output dominates, the writer is cheaper.
    const longAnswer = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4000 }
    for (let i = 0; i < 4; i++) expect(providerOf(await chat(app, 'mixed', longAnswer))).toBe('writer')
  })

  it('takes prices from the pricing table for targets that set none', async () => {
    const { up } = await startUpstreams('large', 'mini', 'unknown')
    const app = await buildRoutingApp({
      routing: { strategy: 'lowest-cost' },
      providers: providersFor(up),
      models: [
        {
          name: 'table-priced',
          targets: [
            // No price anywhere: ordered last, so unknown never beats a known price.
            { provider: 'unknown', model: 'house-model-v1', weight: 10 },
            { provider: 'large', model: 'gpt-4o', weight: 5 },
            { provider: 'mini', model: 'gpt-4o-mini' },
          ],
        },
      ],
    })
    for (let i = 0; i < 6; i++) expect(providerOf(await chat(app, 'table-priced'))).toBe('mini')
    up.mini.script(fail(503))
    expect(providerOf(await chat(app, 'table-priced'))).toBe('large')
    expect(up.unknown.requests).toHaveLength(0)
  })
})

describe('lowest-latency', () => {
  it('prefers the faster upstream once both are measured, still exploring the slower one', async () => {
    const { up } = await startUpstreams('fast', 'slow')
    const slowMs = 60
    up.slow.always(answer(slowMs))
    const explorationRate = 0.2
    const app = await buildRoutingApp({
      routing: { strategy: 'lowest-latency', exploration_rate: explorationRate },
      providers: providersFor(up),
      models: [
        {
          name: 'quick',
          targets: [
            { provider: 'slow', model: 'm-slow' },
            { provider: 'fast', model: 'm-fast' },
          ],
        },
      ],
    })
    // Until exploration has measured both, the order depends on which one was measured first.
    let health = await targetHealth(app)
    for (let i = 0; i < 60 && Object.values(health).some((t) => t.latency_ms_ewma === null); i++) {
      await chat(app, 'quick')
      health = await targetHealth(app)
    }
    expect(health['fast/m-fast']!.latency_ms_ewma).not.toBeNull()
    expect(health['slow/m-slow']!.latency_ms_ewma).toBeGreaterThanOrEqual(slowMs)
    expect(health['fast/m-fast']!.latency_ms_ewma!).toBeLessThan(health['slow/m-slow']!.latency_ms_ewma!)

    const runs = 25
    const served: string[] = []
    for (let i = 0; i < runs; i++) served.push(providerOf(await chat(app, 'quick')))
    const counts = countBy(served)
    // Exploiting always picks `fast`; exploring picks at random among fresh targets, so the expected
    // share is 1 - rate/2 (90%). Below 70% would mean latency is not steering at all.
    expect(counts.fast ?? 0).toBeGreaterThanOrEqual(Math.ceil(runs * 0.7))
    expect(counts.fast ?? 0).toBeGreaterThan(counts.slow ?? 0)
  })
})
