// The dashboard's pure modules (routes/ui/public/prometheus.js and dashboard-data.js), run in Node:
// the exposition parser and PromQL arithmetic against hand-computed values and against the real
// prom-client output of the gateway's own metric set; budget periods against plugins/spend/periods.ts.
import { describe, expect, it } from 'vitest'
import { createGatewayMetrics } from '../plugins/metrics/index.js'
import { budgetWindow } from '../plugins/spend/periods.js'
import {
  budgetLevel,
  budgetPeriodStart,
  keyRows,
  spendRangesFor,
  summarize,
  windowBetween,
} from '../routes/ui/public/dashboard-data.js'
import {
  bucketIncrease,
  counterRate,
  histogramBuckets,
  histogramQuantile,
  parseExposition,
  quantileBucket,
  sumBy,
} from '../routes/ui/public/prometheus.js'

const inf = Number.POSITIVE_INFINITY
const buckets = (...pairs: [number, number][]) => pairs.map(([le, count]) => ({ le, count }))

describe('parseExposition', () => {
  it('reads names, escaped label values, special values and timestamps, and skips comments', () => {
    const text = [
      '# HELP x_total A counter.',
      '# TYPE x_total counter',
      'x_total{a="plain",b="quote \\" slash \\\\ newline \\n end"} 3',
      'up 1 1700000000000',
      'h_bucket{le="+Inf"} +Inf',
      'g NaN',
      'not a sample line at all',
      '',
    ].join('\n')
    const samples = parseExposition(text)
    expect(samples.map((s) => s.name)).toEqual(['x_total', 'up', 'h_bucket', 'g'])
    expect(samples[0]).toEqual({
      name: 'x_total',
      labels: { a: 'plain', b: 'quote " slash \\ newline \n end' },
      value: 3,
    })
    expect(samples[1]!.value).toBe(1)
    expect(samples[2]!.value).toBe(inf)
    expect(samples[3]!.value).toBeNaN()
  })
})

describe('histogramQuantile, as PromQL computes it', () => {
  const h = buckets([0.1, 10], [0.5, 20], [1, 30], [inf, 30])

  it('interpolates linearly inside the bucket holding the rank, the first one from 0', () => {
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.3, 12)
    expect(histogramQuantile(0.25, h)).toBeCloseTo(0.075, 12)
    expect(histogramQuantile(1, h)).toBeCloseTo(1, 12)
    expect(quantileBucket(0.5, h)).toEqual([0.1, 0.5])
  })

  it('answers the highest finite bound for a rank in the +Inf bucket', () => {
    expect(histogramQuantile(0.99, buckets([0.1, 10], [1, 30], [inf, 40]))).toBe(1)
  })

  it('is NaN without observations or without a +Inf bucket, and infinite outside [0, 1]', () => {
    expect(histogramQuantile(0.5, buckets([0.1, 0], [inf, 0]))).toBeNaN()
    expect(histogramQuantile(0.5, buckets([0.1, 3], [1, 4]))).toBeNaN()
    expect(histogramQuantile(0.5, [])).toBeNaN()
    expect(histogramQuantile(-0.1, h)).toBe(Number.NEGATIVE_INFINITY)
    expect(histogramQuantile(1.1, h)).toBe(inf)
  })
})

describe('rates between two scrapes', () => {
  it('takes the increase, or the current counts after a restart', () => {
    expect(bucketIncrease(buckets([1, 5], [inf, 8]), buckets([1, 2], [inf, 3]))).toEqual(
      buckets([1, 3], [inf, 5]),
    )
    expect(bucketIncrease(buckets([1, 1], [inf, 1]), buckets([1, 2], [inf, 3]))).toEqual(
      buckets([1, 1], [inf, 1]),
    )
    expect(counterRate(30, 10, 4)).toBe(5)
    expect(counterRate(3, 10, 3)).toBe(1)
    expect(counterRate(3, undefined, 3)).toBeNull()
  })
})

async function gatewayScrape() {
  const { metrics, api } = createGatewayMetrics(
    { enabled: true, path: '/metrics', auth: 'none', default_metrics: false, max_model_labels: 10 },
    {
      targets: {
        ids: () => ['main/gpt', 'spare/gpt'],
        circuitState: async (id) => (id === 'spare/gpt' ? 'open' : 'closed'),
        inFlight: (id) => (id === 'main/gpt' ? 2 : 0),
      },
    },
  )
  const route = '/v1/chat/completions'
  metrics.requests.bind(route, 'chat', 'main', 'false', '2xx').inc(3)
  metrics.requests.bind(route, 'chat', 'main', 'true', '2xx').inc(1)
  metrics.requests.bind(route, 'chat', '', 'false', '4xx').inc(1)
  metrics.requests.bind(route, 'unknown', '', 'false', '4xx').inc(2)
  metrics.requests.bind(route, 'chat', 'spare', 'false', '5xx').inc(1)
  metrics.requests.bind('/health/live', '', '', 'false', '2xx').inc(50)
  metrics.tokens.bind('prompt', 'chat', 'main').inc(40)
  metrics.tokens.bind('completion', 'chat', 'main').inc(12)
  metrics.cost.bind('chat', 'main').inc(0.25)
  for (const seconds of [0.02, 0.03, 0.04, 0.2])
    metrics.duration.labels('chat', 'main', 'false', '2xx').observe(seconds)
  metrics.duration.labels('chat', 'spare', 'false', '5xx').observe(3)
  metrics.firstToken.labels('chat', 'main', 'true').observe(0.15)
  return { metrics, api, samples: parseExposition(await api.scrape()) }
}

describe('summarize, on the gateway metric set as prom-client writes it', () => {
  it('counts inference calls only, with errors, tokens, cost, percentiles and targets', async () => {
    const { samples } = await gatewayScrape()
    const summary = summarize(samples)
    expect(summary).toMatchObject({
      requests: 8,
      errors: 4,
      serverErrors: 1,
      promptTokens: 40,
      completionTokens: 12,
      costUsd: 0.25,
      inflight: 2,
    })
    expect(summary.targets).toEqual([
      { id: 'main/gpt', circuit: 'closed', inflight: 2 },
      { id: 'spare/gpt', circuit: 'open', inflight: 0 },
    ])
    expect(summary.models.map((m) => [m.model, m.requests, m.errors])).toEqual([
      ['chat', 6, 2],
      ['unknown', 2, 2],
    ])
    // 5 observations: the median is the 2.5th, in (0.025, 0.05] holding 2 of them from rank 1.
    expect(summary.latency[0.5]).toBeCloseTo(0.025 + 0.025 * (1.5 / 2), 12)
    expect(summary.latency[0.99]).toBeGreaterThan(2.5)
    expect(summary.latency[0.99]).toBeLessThanOrEqual(5)
    expect(summary.firstToken[0.5]).toBeGreaterThan(0.1)
    expect(summary.firstToken[0.5]).toBeLessThanOrEqual(0.25)
    expect(histogramBuckets(samples, 'anygate_request_duration_seconds').at(-1)).toEqual({
      le: inf,
      count: 5,
    })
    expect(sumBy(samples, 'anygate_requests_total', 'route').get('/health/live')).toBe(50)
  })

  it('gives the rates and window percentiles of what happened between two scrapes', async () => {
    const { metrics, api, samples } = await gatewayScrape()
    const before = summarize(samples)
    expect(windowBetween(before, null, 5)).toBeNull()
    metrics.requests.bind('/v1/chat/completions', 'chat', 'main', 'false', '2xx').inc(8)
    metrics.requests.bind('/v1/chat/completions', 'chat', 'spare', 'false', '5xx').inc(2)
    for (let i = 0; i < 10; i++) metrics.duration.labels('chat', 'main', 'false', '2xx').observe(0.7)
    const after = summarize(parseExposition(await api.scrape()))
    const window = windowBetween(after, before, 5)!
    expect(window.rps).toBe(2)
    expect(window.errorsPerSecond).toBeCloseTo(0.4, 12)
    expect(window.errorRate).toBeCloseTo(0.2, 12)
    expect(window.latencyP95).toBeGreaterThan(0.5)
    expect(window.latencyP95).toBeLessThanOrEqual(1)
    expect(window.firstTokenP95).toBeNaN()
  })
})

describe('budget periods and key rows', () => {
  it('starts each period on the UTC day plugins/spend/periods.ts starts it', () => {
    const instants = [
      Date.UTC(2026, 2, 5, 13, 7), // a Thursday
      Date.UTC(2026, 2, 1, 23, 59, 59), // a Sunday, the 1st
      Date.UTC(2026, 2, 2, 0, 0), // a Monday at midnight
      Date.UTC(2024, 1, 29, 12), // a leap day
      Date.UTC(2025, 11, 31, 23, 59), // the last minute of a year
    ]
    for (const now of instants) {
      expect(budgetPeriodStart('daily', now)).toBe(budgetWindow('daily', now).id.slice(1))
      expect(budgetPeriodStart('weekly', now)).toBe(budgetWindow('weekly', now).id.slice(1))
      expect(budgetPeriodStart('monthly', now)).toBe(`${budgetWindow('monthly', now).id.slice(1)}-01`)
    }
    expect(budgetPeriodStart('total', Date.UTC(2026, 2, 5, 13))).toBe('2025-03-05')
  })

  it('puts each key next to its month and budget-period spend, then unlisted principals', () => {
    const now = Date.UTC(2026, 2, 5, 13)
    const keys = [
      {
        id: 'k1',
        name: 'team',
        key_hint: 'ab12',
        source: 'api',
        budget: { amount_usd: 2, period: 'daily' as const },
        rpm: 60,
      },
      { id: 'k2', name: 'off', key_hint: 'cd34', source: 'config', disabled: true },
      { id: 'k3', name: 'old', key_hint: 'ef56', source: 'api', expires_at: '2026-01-01T00:00:00Z' },
    ]
    expect(spendRangesFor(keys, now)).toEqual(['2026-03-01', '2026-03-05'])
    const row = (group: string, cost: number, key_name?: string) => ({
      group,
      key_name,
      requests: 2,
      prompt_tokens: 10,
      completion_tokens: 5,
      cost_usd: cost,
    })
    const reports = new Map([
      ['2026-03-01', { data: [row('k1', 3), row('master', 0.5)] }],
      ['2026-03-05', { data: [row('k1', 1.7)] }],
    ])
    const rows = keyRows(keys, reports, now)
    expect(rows.map((r) => [r.id, r.status, r.month.cost_usd])).toEqual([
      ['k1', 'active', 3],
      ['k2', 'disabled', 0],
      ['k3', 'expired', 0],
      ['master', 'active', 0.5],
    ])
    expect(rows[0]!.budget).toEqual({ period: 'daily', amountUsd: 2, spentUsd: 1.7, ratio: 0.85 })
    expect(rows[1]!.budget).toBeNull()
    expect(budgetLevel(rows[0]!.budget!.ratio)).toBe('warn')
    expect([budgetLevel(0.5), budgetLevel(1), budgetLevel(inf)]).toEqual(['ok', 'over', 'over'])
  })
})
