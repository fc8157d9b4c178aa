// The pure parts of the metrics: bounded label values, status classes, which errors are refusals
// and which are upstream failures, and when tokens per second means something.
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { GatewayContext } from '../plugins/call-record.js'
import { GatewayError } from '../plugins/gateway-error.js'
import { limitExceeded, tooManyInFlight } from '../plugins/limits/responses.js'
import { CallRecorder, tokensPerSecond } from '../plugins/metrics/call-recorder.js'
import { CellCounter } from '../plugins/metrics/cell-counter.js'
import { createMetricSet } from '../plugins/metrics/definitions.js'
import {
  BoundedLabels,
  refusalReasonOf,
  statusClassOf,
  unknownLabel,
  upstreamErrorOf,
} from '../plugins/metrics/labels.js'
import { createRouterObserver } from '../plugins/metrics/router-observer.js'
import type { SkipReason } from '../plugins/router/eligibility.js'
import { noUsableTarget } from '../plugins/router/errors.js'

const upstreamHeaders = { 'x-anygate-provider': 'openai', 'x-anygate-attempts': '1' }
const refusal = (unit: 'requests' | 'tokens') =>
  limitExceeded({
    scope: { kind: 'global' },
    unit,
    limit: 1,
    used: 1,
    requested: 1,
    retryAfterMs: 1000,
    resetMs: 60_000,
  })
const skippedAll = (reason: SkipReason) =>
  noUsableTarget('paced', [{ target: { id: 'mock/x', provider: 'mock', model: 'x', weight: 1 }, reason }])

describe('label values', () => {
  it.each([
    [200, '2xx'],
    [204, '2xx'],
    [301, '3xx'],
    [404, '4xx'],
    [499, '4xx'],
    [503, '5xx'],
    [99, '1xx'],
    [600, '5xx'],
  ])('status %i is class %s', (status, cls) => {
    expect(statusClassOf(status)).toBe(cls)
  })

  it('keeps configured names, admits new ones up to the cap, then answers unknown', () => {
    const labels = new BoundedLabels(['fast', 'smart'], 2)
    expect(labels.admit('fast')).toBe('fast')
    expect(labels.admit('mock/a')).toBe('mock/a')
    expect(labels.admit('mock/b')).toBe('mock/b')
    expect(labels.admit('mock/c')).toBe(unknownLabel)
    expect(labels.admit('mock/a')).toBe('mock/a')
    expect(labels.known('smart')).toBe('smart')
    expect(labels.known('never-admitted')).toBe(unknownLabel)
    expect(labels.known(42)).toBe(unknownLabel)
    expect(labels.known(undefined)).toBe(unknownLabel)
  })
})

describe('refusals and upstream errors', () => {
  it.each([
    ['request rate', refusal('requests'), 'rate_limit'],
    ['tokens', refusal('tokens'), 'tokens'],
    ['max_parallel', tooManyInFlight('team-a', 2), 'parallel'],
    ['budget', new GatewayError(429, 'Budget exceeded', 'insufficient_quota', 'budget_exceeded'), 'budget'],
    [
      'model access',
      new GatewayError(403, 'not allowed', 'permission_error', 'model_not_allowed', 'model'),
      'model_access',
    ],
    ['every target at max_rpm', skippedAll('max_rpm'), 'target_rpm'],
    [
      'store down, deny',
      new GatewayError(503, 'store down', 'service_unavailable', 'limits_unavailable'),
      'store_unavailable',
    ],
    [
      'an unknown 429 code naming tokens',
      new GatewayError(429, 'x', 'rate_limit_error', 'tpm_window_full'),
      'tokens',
    ],
    ['an unknown 429', new GatewayError(429, 'x', 'rate_limit_error', 'slow_down'), 'other'],
  ])('%s is a refusal: %s', (_name, error, reason) => {
    expect(refusalReasonOf(error)).toBe(reason)
    expect(upstreamErrorOf(error)).toBeNull()
  })

  it.each([
    ['no target available', skippedAll('circuit_open')],
    [
      'a validation error',
      new GatewayError(400, 'bad', 'invalid_request_error', 'invalid_value', 'messages'),
    ],
    ['an unknown model', new GatewayError(404, 'no such model', 'invalid_request_error', 'model_not_found')],
    [
      'a Fastify error',
      Object.assign(new Error('x'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }),
    ],
  ])('%s is neither a refusal nor an upstream error', (_name, error) => {
    expect(refusalReasonOf(error)).toBeNull()
    expect(upstreamErrorOf(error)).toBeNull()
  })

  it('an upstream 429 is the upstream failing, not a gateway limit', () => {
    const throttled = new GatewayError(429, 'slow down', 'rate_limit_error', 'rate_limit_exceeded', null, {
      ...upstreamHeaders,
    })
    expect(refusalReasonOf(throttled)).toBeNull()
    expect(upstreamErrorOf(throttled)).toEqual({ provider: 'openai', type: 'rate_limit_error' })
  })

  it("an upstream's own error type becomes `other`, so upstreams cannot add series", () => {
    const odd = new GatewayError(400, 'x', 'some_vendor_specific_type_1234', null, null, {
      ...upstreamHeaders,
    })
    expect(upstreamErrorOf(odd)).toEqual({ provider: 'openai', type: 'other' })
  })
})

describe('tokens per second', () => {
  const base = { stream: false, cache: 'MISS' as const }
  it.each([
    ['JSON: over the whole call', { ...base }, 50, 2000, 25],
    [
      'stream: over first to last chunk',
      { ...base, stream: true, firstByteMs: 500, lastByteMs: 1500 },
      40,
      9999,
      40,
    ],
    ['no completion tokens', { ...base }, 0, 1000, undefined],
    ['a cache hit generated nothing', { ...base, cache: 'HIT' as const }, 50, 1, undefined],
    ['a stream without timings', { ...base, stream: true }, 10, 1000, undefined],
    [
      'a stream whose chunks all came at once',
      { ...base, stream: true, firstByteMs: 7, lastByteMs: 7 },
      10,
      100,
      undefined,
    ],
    [
      'a stream that broke off',
      { ...base, stream: true, firstByteMs: 1, lastByteMs: 9, streamError: 'upstream_stream_error' },
      10,
      100,
      undefined,
    ],
  ])('%s', (_name, gateway, completion, elapsedMs, expected) => {
    expect(tokensPerSecond(gateway, completion, elapsedMs)).toBe(expected)
  })
})

describe('CellCounter', () => {
  it('counts in bound cells and shows them as a prom-client counter at scrape time', async () => {
    const registry = new Registry()
    const counter = new CellCounter({
      name: 'c_total',
      help: 'c',
      labelNames: ['a', 'b'],
      registers: [registry],
    })
    const cell = counter.bind('x', 'y')
    expect(counter.bind('x', 'y')).toBe(cell)
    counter.bind('never', 'counted')
    cell.inc()
    cell.inc(2.5)
    expect(await registry.metrics()).toBe(
      '# HELP c_total c\n# TYPE c_total counter\nc_total{a="x",b="y"} 3.5\n',
    )
    cell.inc()
    expect(await registry.metrics()).toContain('c_total{a="x",b="y"} 4.5\n')
    expect(() => counter.bind('only-one')).toThrow(/2 label values expected, got 1/)
  })
})

describe('CallRecorder', () => {
  function recorder() {
    const registry = new Registry()
    const metrics = createMetricSet(registry, {})
    return { registry, calls: new CallRecorder(metrics, new BoundedLabels(['fast'], 10)) }
  }
  const served = (extra: Partial<GatewayContext>): GatewayContext => ({
    model: 'fast',
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    attempts: 1,
    stream: true,
    cache: 'MISS',
    ...extra,
  })
  const reply = (statusCode: number, elapsedTime: number) => ({
    statusCode,
    elapsedTime,
    getHeader: () => undefined,
  })

  it('records a served stream: tokens, cost, cache result, first token, speed; a broken one as an upstream error', async () => {
    const { registry, calls } = recorder()
    const record = calls.forRoute('/v1/chat/completions', true)
    const usage = { prompt: 12, completion: 30, cachedPrompt: 0 }
    record(
      { gateway: served({ usage, costUsd: 0.5, firstByteMs: 100, lastByteMs: 1100 }), body: {} },
      reply(200, 1100),
    )
    record(
      {
        gateway: served({ usage, firstByteMs: 100, lastByteMs: 200, streamError: 'upstream_stream_error' }),
        body: {},
      },
      reply(200, 200),
    )
    record({ gateway: served({ usage, cache: 'HIT', costUsd: 0, firstByteMs: 1 }), body: {} }, reply(200, 1))
    const text = await registry.metrics()
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix))
    expect(line('anygate_tokens_total{type="completion"')).toBe(
      'anygate_tokens_total{type="completion",model="fast",provider="openai"} 90',
    )
    expect(line('anygate_cost_usd_total')).toBe('anygate_cost_usd_total{model="fast",provider="openai"} 0.5')
    expect(line('anygate_cache_requests_total{result="hit"}')).toMatch(/ 1$/)
    expect(line('anygate_cache_requests_total{result="miss"}')).toMatch(/ 2$/)
    expect(line('anygate_time_to_first_token_seconds_count')).toMatch(/ 3$/)
    // Only the first one: the broken stream and the cache hit say nothing about generation speed.
    expect(line('anygate_output_tokens_per_second_count')).toMatch(/ 1$/)
    expect(line('anygate_output_tokens_per_second_sum')).toMatch(/ 30$/)
    expect(line('anygate_upstream_errors_total')).toBe(
      'anygate_upstream_errors_total{provider="openai",type="stream_error"} 1',
    )
  })

  it('counts each call under its own model and provider, whichever came before it', async () => {
    const registry = new Registry()
    const models = new BoundedLabels(['fast'], 0)
    const calls = new CallRecorder(createMetricSet(registry, {}), models)
    const record = calls.forRoute('/v1/chat/completions', true)
    const call = (model: string, provider: string) =>
      record({ gateway: served({ model, provider, stream: false }), body: {} }, reply(200, 10))
    call('fast', 'openai')
    call('fast', 'openai')
    call('fast', 'azure')
    call('fast', 'openai')
    // Beyond the cap: `unknown`, until a reloaded config declares it.
    call('slow', 'openai')
    models.include(['slow'])
    call('slow', 'openai')
    call('fast', 'openai')
    const text = await registry.metrics()
    const requests = (model: string, provider: string) =>
      text
        .split('\n')
        .find((l) =>
          l.startsWith(
            `anygate_requests_total{route="/v1/chat/completions",model="${model}",provider="${provider}"`,
          ),
        )
        ?.split(' ')[1]
    expect(requests('fast', 'openai')).toBe('4')
    expect(requests('fast', 'azure')).toBe('1')
    expect(requests(unknownLabel, 'openai')).toBe('1')
    expect(requests('slow', 'openai')).toBe('1')
  })

  it('counts errors by kind, each under a bounded label', async () => {
    const { registry, calls } = recorder()
    calls.countError(new GatewayError(429, 'Budget', 'insufficient_quota', 'budget_exceeded'))
    calls.countError(new GatewayError(429, 'Budget', 'insufficient_quota', 'budget_exceeded'))
    calls.countError(
      new GatewayError(502, 'down', 'upstream_error', 'upstream_unreachable', null, { ...upstreamHeaders }),
    )
    calls.countError(new GatewayError(400, 'bad', 'invalid_request_error', 'invalid_value'))
    const text = await registry.metrics()
    expect(text).toContain('anygate_limit_refusals_total{reason="budget"} 2')
    expect(text).toContain('anygate_upstream_errors_total{provider="openai",type="upstream_error"} 1')
    expect(text.split('\n').filter((l) => l.startsWith('anygate_limit_refusals_total{'))).toHaveLength(1)
  })
})

describe('router observer', () => {
  it('counts each decision and attempt under its own labels, whichever came before it', async () => {
    const registry = new Registry()
    const models = new BoundedLabels(['fast'], 0)
    const targets = new BoundedLabels(['openai/a'], 0)
    const observer = createRouterObserver(createMetricSet(registry, {}), models, targets)
    const decide = (model: string, strategy: 'weighted' | 'priority') =>
      observer.decision!({ requestId: 'r', model, strategy, order: [], skipped: [] })
    const succeed = (provider: string, model: string) =>
      observer.attemptEnd!({
        requestId: 'r',
        model: 'fast',
        target: { id: `${provider}/${model}`, provider, model, weight: 1 },
        attempt: 1,
        outcome: 'success',
        status: null,
        reason: null,
        next: null,
        durationMs: 1,
      })
    decide('fast', 'weighted')
    decide('fast', 'weighted')
    decide('fast', 'priority')
    // Beyond the cap: `unknown`, until a reloaded config declares it.
    decide('slow', 'weighted')
    models.include(['slow'])
    decide('slow', 'weighted')
    decide('fast', 'weighted')
    succeed('openai', 'a')
    succeed('openai', 'a')
    succeed('openai', 'b')
    targets.include(['openai/b'])
    succeed('openai', 'b')
    succeed('openai', 'a')
    const lines = (await registry.metrics()).split('\n')
    const value = (prefix: string) => lines.find((l) => l.startsWith(prefix))?.split(' ')[1]
    expect(value('anygate_routing_decisions_total{model="fast",strategy="weighted"}')).toBe('3')
    expect(value('anygate_routing_decisions_total{model="fast",strategy="priority"}')).toBe('1')
    expect(value(`anygate_routing_decisions_total{model="${unknownLabel}",strategy="weighted"}`)).toBe('1')
    expect(value('anygate_routing_decisions_total{model="slow",strategy="weighted"}')).toBe('1')
    const attempts = (target: string) =>
      value(
        `anygate_upstream_attempts_total{provider="openai",target="${target}",outcome="success",reason=""}`,
      )
    expect(attempts('openai/a')).toBe('3')
    expect(attempts(unknownLabel)).toBe('1')
    expect(attempts('openai/b')).toBe('1')
  })
})
