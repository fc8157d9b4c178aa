// With breaker records in Redis, anygate_circuit_state is what every replica agrees on: a circuit
// replica A opened reads 2 on replica B's /metrics, while each counts only its own traffic.
import { afterAll, describe, expect, it } from 'vitest'
import { connectTestRedis, deleteKeys, uniquePrefix } from './helpers/redis.js'
import { buildRoutingApp, chat, fail, openaiProvider, startScriptedUpstream } from './helpers/routing.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('metrics-replicas')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

const linesOf = (body: string, name: string) => body.split('\n').filter((l) => l.startsWith(`${name}{`))

describe.skipIf(!redis)('metrics on replicas sharing Redis', () => {
  it('show the shared circuit state, and each replica its own counts', async () => {
    const upstream = await startScriptedUpstream('dead')
    upstream.always(fail(503))
    const config = {
      store: { type: 'redis', url: 'redis://127.0.0.1:6379', key_prefix: prefix },
      routing: { retries: 0, circuit_breaker: { consecutive_failures: 2, cooldown_s: 600 } },
      providers: { openai: openaiProvider(upstream) },
      models: [{ name: 'svc', targets: [{ provider: 'openai', model: 'gpt-test' }] }],
    }
    const appA = await buildRoutingApp(config)
    const appB = await buildRoutingApp(config)
    for (let i = 0; i < 2; i++) expect((await chat(appA, 'svc')).statusCode).toBe(503)
    expect((await chat(appB, 'svc')).json().error.code).toBe('no_target_available')

    const scrape = async (app: typeof appA) => (await app.inject({ method: 'GET', url: '/metrics' })).body
    const [a, b] = [await scrape(appA), await scrape(appB)]
    for (const body of [a, b]) {
      expect(linesOf(body, 'anygate_circuit_state')).toEqual([
        'anygate_circuit_state{target="openai/gpt-test"} 2',
      ])
    }
    expect(linesOf(a, 'anygate_circuit_transitions_total')).toEqual([
      'anygate_circuit_transitions_total{target="openai/gpt-test",to="open"} 1',
    ])
    expect(linesOf(b, 'anygate_circuit_transitions_total')).toEqual([])
    // A: two upstream 503s, answered as the upstream's errors. B: refused without an attempt.
    expect(linesOf(a, 'anygate_upstream_errors_total')).toEqual([
      'anygate_upstream_errors_total{provider="openai",type="upstream_error"} 2',
    ])
    expect(linesOf(a, 'anygate_requests_total')).toEqual([
      'anygate_requests_total{route="/v1/chat/completions",model="svc",provider="openai",stream="false",status_class="5xx"} 2',
    ])
    expect(linesOf(b, 'anygate_requests_total')).toEqual([
      'anygate_requests_total{route="/v1/chat/completions",model="svc",provider="",stream="false",status_class="5xx"} 1',
    ])
    expect(linesOf(b, 'anygate_routing_skips_total')).toEqual([
      'anygate_routing_skips_total{model="svc",target="openai/gpt-test",reason="circuit_open"} 1',
    ])
    expect(linesOf(b, 'anygate_upstream_errors_total')).toEqual([])
  })
})
