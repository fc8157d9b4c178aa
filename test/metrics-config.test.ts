// The `metrics:` section: on by default, off without a trace, its path, process metrics, the cap on
// model labels; and the seams other plugins use (cost from the spend plugin's onResponse, the
// cache's size, the state store's on_error fallbacks).
import { describe, expect, it } from 'vitest'
import { RedisGuard } from '../plugins/store/redis-guard.js'
import { buildTestApp, chatBody, configProblems } from './helpers/app.js'

const echoModels = {
  providers: { mock: { type: 'mock' } },
  models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
}

const sampleLines = (body: string, name: string) =>
  body.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))

describe('metrics config', () => {
  it('is on by default at /metrics, with the process metrics', async () => {
    const { app } = await buildTestApp(echoModels)
    expect(app.metrics).toBeDefined()
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('# TYPE anygate_requests_total counter')
    expect(res.body).toContain('# TYPE process_cpu_user_seconds_total counter')
    expect(res.body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge')
  })

  it('enabled: false registers no route, no decorator and no hooks', async () => {
    const { app } = await buildTestApp({ ...echoModels, metrics: { enabled: false } })
    expect(app.metrics).toBeUndefined()
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ error: { code: 'unknown_url' } })
    expect(app.routerState.observers.wantsAttempts).toBe(false)
  })

  it('serves another path, without the process metrics when default_metrics is false', async () => {
    const { app } = await buildTestApp({
      ...echoModels,
      metrics: { path: '/internal/prom', default_metrics: false },
    })
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
    const res = await app.inject({ method: 'GET', url: '/internal/prom' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('# TYPE anygate_circuit_state gauge')
    expect(res.body).not.toContain('process_cpu_user_seconds_total')
  })

  it('refuses a bad section naming each path', () => {
    expect(configProblems({ metrics: { path: 'metrics', auth: 'everyone', per_key: true } }).sort()).toEqual([
      'metrics.auth: must be none (anyone who reaches the port may scrape) or master (the scraper sends auth.master_key; 403 when none is set)',
      'metrics.path: must be a URL path starting with /',
      'metrics.per_key: unexpected property',
    ])
    expect(configProblems({ metrics: { max_model_labels: 0 } })).toEqual([
      expect.stringMatching(/^metrics\.max_model_labels: /),
    ])
  })

  it('admits direct model names up to max_model_labels, then counts them as unknown', async () => {
    const { app } = await buildTestApp({ ...echoModels, metrics: { max_model_labels: 2 } })
    for (const model of ['mock/a', 'mock/b', 'mock/c', 'mock/d', 'echo']) {
      const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody(model) })
      expect(res.statusCode).toBe(200)
    }
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const models = sampleLines(body, 'anygate_requests_total').map((l) => /model="([^"]*)"/.exec(l)![1])
    expect(models.sort()).toEqual(['echo', 'mock/a', 'mock/b', 'unknown'])
    expect(body).toMatch(/anygate_requests_total\{[^}]*model="unknown"[^}]*\} 2/)
  })
})

describe('seams for other plugins', () => {
  it('counts the cost the spend plugin priced, JSON and stream alike', async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' } },
      models: [
        {
          name: 'priced',
          targets: [
            { provider: 'mock', model: 'echo', price: { input_per_mtok: 1000, output_per_mtok: 2000 } },
          ],
        },
      ],
    })
    let expected = 0
    for (const extra of [{}, { stream: true, stream_options: { include_usage: true } }]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: chatBody('priced', 'what does it cost', extra),
      })
      const usage = 'stream' in extra ? JSON.parse(res.body.split('data: ').at(-2)!).usage : res.json().usage
      expected += (usage.prompt_tokens * 1000 + usage.completion_tokens * 2000) / 1e6
    }
    expect(expected).toBeGreaterThan(0)
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const [line] = sampleLines(body, 'anygate_cost_usd_total')
    expect(line).toMatch(/^anygate_cost_usd_total\{model="priced",provider="mock"\} /)
    expect(Number(line!.split(' ')[1])).toBeCloseTo(expected, 9)
  })

  it("counts the limit plugins' refusals by reason, and not as upstream errors", async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' } },
      models: [
        { name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] },
        { name: 'wordy', targets: [{ provider: 'mock', model: 'echo' }] },
      ],
      limits: { models: { echo: { rpm: 1 }, wordy: { tpm: 1 } } },
    })
    const post = (model: string) =>
      app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody(model) })
    expect((await post('echo')).statusCode).toBe(200)
    expect((await post('echo')).json().error.code).toBe('rate_limit_exceeded')
    expect((await post('wordy')).json().error.code).toBe('tokens_exceeded')
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sampleLines(body, 'anygate_limit_refusals_total')).toEqual([
      'anygate_limit_refusals_total{reason="rate_limit"} 1',
      'anygate_limit_refusals_total{reason="tokens"} 1',
    ])
    expect(sampleLines(body, 'anygate_upstream_errors_total')).toEqual([])
    expect(body).toContain(
      'anygate_requests_total{route="/v1/chat/completions",model="echo",provider="",stream="false",status_class="4xx"} 1',
    )
  })

  it('counts response cache hits and misses, and reads the cache size, with the cache on', async () => {
    const { app } = await buildTestApp({ ...echoModels, cache: { enabled: true } })
    for (const expected of ['MISS', 'HIT']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: chatBody('echo', 'cache me', { temperature: 0 }),
      })
      expect(res.headers['x-anygate-cache']).toBe(expected)
    }
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sampleLines(body, 'anygate_cache_requests_total')).toEqual([
      'anygate_cache_requests_total{result="hit"} 1',
      'anygate_cache_requests_total{result="miss"} 1',
    ])
    expect(Number(sampleLines(body, 'anygate_cache_bytes')[0]!.split(' ')[1])).toBeGreaterThan(0)
    // The hit generated nothing: one speed sample, from the miss.
    expect(body).toContain(
      'anygate_output_tokens_per_second_count{model="echo",provider="mock",stream="false"} 1',
    )
  })

  it('reads the cache size from the source given to app.metrics.cacheBytes', async () => {
    const { app } = await buildTestApp(echoModels)
    expect(
      sampleLines((await app.inject({ method: 'GET', url: '/metrics' })).body, 'anygate_cache_bytes'),
    ).toEqual(['anygate_cache_bytes 0'])
    let bytes = 1234
    app.metrics!.cacheBytes(async () => bytes)
    bytes = 4096
    expect(
      sampleLines((await app.inject({ method: 'GET', url: '/metrics' })).body, 'anygate_cache_bytes'),
    ).toEqual(['anygate_cache_bytes 4096'])
  })

  it('counts state store calls that got the on_error answer, failed or paused', async () => {
    const { app } = await buildTestApp(echoModels)
    let now = 0
    const guard = new RedisGuard({
      onError: 'deny',
      store: 'breaker',
      clock: () => now,
      pauseMs: 1000,
      onFallback: app.metrics!.countStoreFallback,
    })
    const down = () => Promise.reject(new Error('connect ECONNREFUSED'))
    expect(await guard.run('load', down, () => 'degraded')).toBe('degraded')
    // Paused: answered at once, without asking Redis, and counted too.
    expect(
      await guard.run(
        'load',
        () => Promise.resolve('fresh'),
        () => 'degraded',
      ),
    ).toBe('degraded')
    now = 1000
    expect(
      await guard.run(
        'load',
        () => Promise.resolve('fresh'),
        () => 'degraded',
      ),
    ).toBe('fresh')
    const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sampleLines(body, 'anygate_store_fallbacks_total')).toEqual([
      'anygate_store_fallbacks_total{store="breaker",on_error="deny"} 2',
    ])
  })
})
