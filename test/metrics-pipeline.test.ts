// GET /metrics after a scripted sequence of calls through the whole app: the mock provider, and
// fake OpenAI upstreams that fail, retry onto a second target, fall back to another model and open
// a circuit. Counts are exact; the router's clock is the test's, so nothing waits.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { parseSamples, type Sample } from './helpers/prometheus.js'
import {
  buildRoutingApp,
  fail,
  hold,
  manualClock,
  openaiProvider,
  type ScriptedUpstream,
  startUpstreams,
} from './helpers/routing.js'

const masterKey = 'master-secret-BBBB2222-metrics'
const providerKey = 'sk-provider-secret-AAAA1111-metrics'
const auth = { authorization: `Bearer ${masterKey}` }

async function scrape(app: FastifyInstance): Promise<Sample[]> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: auth })
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseSamples(res.body)
}

/** The value of the one sample with exactly these labels (undefined when there is none). */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const keys = Object.keys(labels)
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).filter((k) => k !== 'le').length === keys.length &&
      keys.every((k) => s.labels[k] === labels[k]),
  )
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`)
  return found[0]?.value
}

/** Every sample of `name` as `label=value,...` -> value, for whole-metric comparisons. */
function seriesOf(samples: Sample[], name: string): Record<string, number> {
  return Object.fromEntries(
    samples
      .filter((s) => s.name === name)
      .map((s) => [
        Object.entries(s.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        s.value,
      ]),
  )
}

async function gatewayFor(up: Record<'primary' | 'backup' | 'dead', ScriptedUpstream>) {
  const clock = manualClock()
  const app = await buildRoutingApp(
    {
      auth: { master_key: masterKey },
      metrics: { auth: 'master' },
      routing: {
        strategy: 'priority',
        retries: 1,
        backoff_ms: { base: 1, max: 2 },
        circuit_breaker: { consecutive_failures: 2, cooldown_s: 600 },
      },
      providers: {
        mock: { type: 'mock' },
        primary: openaiProvider(up.primary, { api_key: providerKey }),
        backup: openaiProvider(up.backup, { api_key: providerKey }),
        dead: openaiProvider(up.dead, { api_key: providerKey }),
      },
      models: [
        { name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] },
        {
          name: 'svc',
          targets: [
            { provider: 'primary', model: 'm', priority: 0 },
            { provider: 'backup', model: 'm', priority: 1 },
          ],
        },
        { name: 'broken', targets: [{ provider: 'dead', model: 'm' }], fallbacks: ['svc'] },
        { name: 'paced', targets: [{ provider: 'mock', model: 'paced', max_rpm: 1 }] },
      ],
    },
    { now: clock.now },
  )
  return app
}

function chat(app: FastifyInstance, model: string, extra: Record<string, unknown> = {}, headers = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { ...auth, ...headers },
    payload: { model, messages: [{ role: 'user', content: 'hello there' }], ...extra },
  })
}

describe('GET /metrics after a scripted sequence', () => {
  it('counts every request, attempt, retry, fallback, refusal and error exactly', async () => {
    const { up } = await startUpstreams('primary', 'backup', 'dead')
    up.dead.always(fail(503))
    const app = await gatewayFor(up)

    const json = await chat(app, 'echo')
    expect(json.statusCode).toBe(200)
    const stream = await chat(
      app,
      'echo',
      { stream: true, stream_options: { include_usage: true } },
      { 'x-mock-chunk-delay-ms': '2' },
    )
    expect(stream.statusCode).toBe(200)
    expect((await chat(app, 'echo', { messages: 'not a list' })).statusCode).toBe(400)
    for (const garbage of ['nope-1', 'nope-2', `sk-looks-like-a-key-${providerKey}`]) {
      expect((await chat(app, garbage)).statusCode).toBe(404)
    }
    // A 503 on the first target, retried onto the second.
    up.primary.script(fail(503))
    const retried = await chat(app, 'svc')
    expect(retried.headers['x-anygate-provider']).toBe('backup')
    // The dead target fails twice (once retried), its breaker opens, the fallback model serves.
    const fellBack = await chat(app, 'broken')
    expect(fellBack.headers['x-anygate-fallback']).toBe('broken -> svc')
    // Open now: skipped without an attempt, straight to the fallback.
    const skipped = await chat(app, 'broken')
    expect(skipped.headers['x-anygate-attempts']).toBe('1')
    expect(up.dead.requests).toHaveLength(2)
    // The target's max_rpm refuses the second call: the gateway's own limit, no upstream involved.
    expect((await chat(app, 'paced')).statusCode).toBe(200)
    expect((await chat(app, 'paced')).statusCode).toBe(429)
    // An upstream 400, passed through: an upstream error, under the direct model it resolved to.
    expect((await chat(app, 'mock/error-400')).statusCode).toBe(400)
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)

    const samples = await scrape(app)
    const route = '/v1/chat/completions'
    const call = (model: string, provider: string, status: string, streamed = 'false') =>
      `route=${route},model=${model},provider=${provider},stream=${streamed},status_class=${status}`
    expect(seriesOf(samples, 'anygate_requests_total')).toEqual({
      [call('echo', 'mock', '2xx')]: 1,
      [call('echo', 'mock', '2xx', 'true')]: 1,
      [call('echo', '', '4xx')]: 1,
      [call('unknown', '', '4xx')]: 3,
      [call('svc', 'backup', '2xx')]: 1,
      [call('svc', 'primary', '2xx')]: 2,
      [call('paced', 'mock', '2xx')]: 1,
      [call('paced', '', '4xx')]: 1,
      [call('mock/error-400', 'mock', '4xx')]: 1,
      'route=/health/live,model=,provider=,stream=false,status_class=2xx': 1,
    })
    expect(seriesOf(samples, 'anygate_upstream_attempts_total')).toEqual({
      'provider=mock,target=mock/echo,outcome=success,reason=': 2,
      'provider=primary,target=primary/m,outcome=failure,reason=status_503': 1,
      'provider=backup,target=backup/m,outcome=success,reason=': 1,
      'provider=dead,target=dead/m,outcome=failure,reason=status_503': 2,
      'provider=primary,target=primary/m,outcome=success,reason=': 2,
      'provider=mock,target=mock/paced,outcome=success,reason=': 1,
      'provider=mock,target=mock/error-400,outcome=failure,reason=status_400': 1,
    })
    expect(seriesOf(samples, 'anygate_retries_total')).toEqual({ 'target=primary/m': 1, 'target=dead/m': 1 })
    expect(seriesOf(samples, 'anygate_fallbacks_total')).toEqual({ 'from=broken,to=svc,kind=general': 2 })
    expect(seriesOf(samples, 'anygate_routing_decisions_total')).toEqual({
      'model=echo,strategy=priority': 2,
      'model=svc,strategy=priority': 3,
      'model=broken,strategy=priority': 2,
      'model=paced,strategy=priority': 2,
      'model=mock/error-400,strategy=priority': 1,
    })
    expect(seriesOf(samples, 'anygate_routing_skips_total')).toEqual({
      'model=broken,target=dead/m,reason=circuit_open': 1,
      'model=paced,target=mock/paced,reason=max_rpm': 1,
    })
    expect(seriesOf(samples, 'anygate_circuit_state')).toEqual({
      'target=mock/echo': 0,
      'target=primary/m': 0,
      'target=backup/m': 0,
      'target=dead/m': 2,
      'target=mock/paced': 0,
    })
    expect(seriesOf(samples, 'anygate_circuit_transitions_total')).toEqual({ 'target=dead/m,to=open': 1 })
    expect(seriesOf(samples, 'anygate_limit_refusals_total')).toEqual({ 'reason=target_rpm': 1 })
    expect(seriesOf(samples, 'anygate_upstream_errors_total')).toEqual({
      'provider=mock,type=invalid_request_error': 1,
    })
    expect(seriesOf(samples, 'anygate_cache_requests_total')).toEqual({ 'result=bypass': 6 })

    // Tokens as the answers reported them: the fakes say 7 prompt and 3 completion tokens.
    const usageOf = (body: string) =>
      JSON.parse(body).usage as { prompt_tokens: number; completion_tokens: number }
    const streamUsage = JSON.parse(
      stream.body
        .split('\n\n')
        .filter((block) => block.startsWith('data: {'))
        .map((block) => block.slice('data: '.length))
        .at(-1)!,
    ).usage as { prompt_tokens: number; completion_tokens: number }
    expect(seriesOf(samples, 'anygate_tokens_total')).toEqual({
      'type=prompt,model=echo,provider=mock': usageOf(json.body).prompt_tokens + streamUsage.prompt_tokens,
      'type=completion,model=echo,provider=mock':
        usageOf(json.body).completion_tokens + streamUsage.completion_tokens,
      'type=prompt,model=svc,provider=backup': 7,
      'type=completion,model=svc,provider=backup': 3,
      'type=prompt,model=svc,provider=primary': 14,
      'type=completion,model=svc,provider=primary': 6,
      'type=prompt,model=paced,provider=mock': usageOf(json.body).prompt_tokens,
      'type=completion,model=paced,provider=mock': expect.any(Number),
    })

    // Histograms: every call in the duration one; first token for both the JSON calls and the stream.
    const durationCount = (labels: Record<string, string>) =>
      sampleValue(samples, 'anygate_request_duration_seconds_count', labels)
    expect(durationCount({ model: 'unknown', provider: '', stream: 'false', status_class: '4xx' })).toBe(3)
    expect(durationCount({ model: 'svc', provider: 'primary', stream: 'false', status_class: '2xx' })).toBe(2)
    const streamed = { model: 'echo', provider: 'mock', stream: 'true' }
    expect(sampleValue(samples, 'anygate_time_to_first_token_seconds_count', streamed)).toBe(1)
    expect(sampleValue(samples, 'anygate_time_to_first_token_seconds_sum', streamed)).toBeGreaterThan(0)
    expect(sampleValue(samples, 'anygate_output_tokens_per_second_count', streamed)).toBe(1)
    expect(
      sampleValue(samples, 'anygate_time_to_first_token_seconds_count', { ...streamed, stream: 'false' }),
    ).toBe(1)
    // Buckets are cumulative: the +Inf bucket holds every observation, and some finite one holds it too.
    const buckets = samples.filter(
      (s) =>
        s.name === 'anygate_time_to_first_token_seconds_bucket' &&
        s.labels.model === 'echo' &&
        s.labels.stream === 'true',
    )
    expect(buckets.find((b) => b.labels.le === '+Inf')?.value).toBe(1)
    expect(buckets.some((b) => b.labels.le !== '+Inf' && b.value === 1)).toBe(true)
    for (const name of [
      'anygate_request_duration_seconds_bucket',
      'anygate_output_tokens_per_second_bucket',
    ]) {
      expect(samples.filter((s) => s.name === name && s.value > 0).length).toBeGreaterThan(0)
    }
    expect(Object.values(seriesOf(samples, 'anygate_inflight_requests')).every((n) => n === 0)).toBe(true)
  })

  it('shows a call in flight on its target while the upstream holds it, and 0 once it ends', async () => {
    const { up } = await startUpstreams('primary', 'backup', 'dead')
    const app = await gatewayFor(up)
    up.primary.script(hold())
    const pending = chat(app, 'svc')
    await expect.poll(() => up.primary.held()).toBe(1)
    expect(sampleValue(await scrape(app), 'anygate_inflight_requests', { target: 'primary/m' })).toBe(1)
    up.primary.releaseHeld()
    expect((await pending).statusCode).toBe(200)
    expect(sampleValue(await scrape(app), 'anygate_inflight_requests', { target: 'primary/m' })).toBe(0)
  })

  it('needs the master key when metrics.auth is master, and never shows a secret', async () => {
    const { up } = await startUpstreams('primary', 'backup', 'dead')
    const app = await gatewayFor(up)
    await chat(app, 'svc')
    await chat(app, `sk-client-${masterKey}`)
    await chat(app, 'primary/whatever', {}, { 'x-api-key': providerKey })
    const anonymous = await app.inject({ method: 'GET', url: '/metrics' })
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.json()).toMatchObject({ error: { type: expect.any(String), code: expect.any(String) } })
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: auth })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('anygate_requests_total')
    expect(res.body).not.toContain(masterKey)
    expect(res.body).not.toContain(providerKey)
    expect(res.body).not.toContain('AAAA1111')
    expect(res.body).not.toContain('BBBB2222')
  })
})
