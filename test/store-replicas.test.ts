// Two gateways sharing one Redis are two replicas: a breaker one of them opens is open for the other,
// which then refuses the target without calling it. And the state store plugin's own wiring.
import { afterAll, describe, expect, it } from 'vitest'
import { chatBody } from './helpers/app.js'
import { connectTestRedis, deleteKeys, uniquePrefix } from './helpers/redis.js'
import {
  buildRoutingApp,
  chat,
  fail,
  openaiProvider,
  startScriptedUpstream,
  targetHealth,
} from './helpers/routing.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('replicas')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

describe.skipIf(!redis)('replicas sharing Redis', () => {
  it('agree on a dead upstream: B refuses the target A saw fail, without calling it', async () => {
    const upstream = await startScriptedUpstream('dead')
    upstream.always(fail(503))
    const keyPrefix = `${prefix}dead:`
    const config = {
      store: { type: 'redis', url: 'redis://127.0.0.1:6379', key_prefix: keyPrefix },
      routing: {
        retries: 0,
        backoff_ms: { base: 1, max: 5 },
        circuit_breaker: { consecutive_failures: 2, cooldown_s: 30 },
      },
      providers: { openai: openaiProvider(upstream) },
      models: [{ name: 'svc', targets: [{ provider: 'openai', model: 'gpt-test' }] }],
    }
    const appA = await buildRoutingApp(config)
    const appB = await buildRoutingApp(config)
    expect((await targetHealth(appB))['openai/gpt-test']!.state).toBe('closed')

    for (let i = 0; i < 2; i++) expect((await chat(appA, 'svc')).statusCode).toBe(503)
    expect(upstream.requests).toHaveLength(2)
    expect((await targetHealth(appA))['openai/gpt-test']!.state).toBe('open')
    expect((await targetHealth(appB))['openai/gpt-test']!.state).toBe('open')

    const res = await chat(appB, 'svc')
    expect(res.statusCode).toBe(503)
    expect(res.json().error).toMatchObject({ type: 'service_unavailable', code: 'no_target_available' })
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(25)
    expect(upstream.requests).toHaveLength(2)

    const stored = JSON.parse((await redis!.get(`${keyPrefix}breaker:openai/gpt-test`))!)
    expect(stored.record.state).toBe('open')
  })
})

describe('the state store plugin', () => {
  it('opens no Redis connection with the memory store', async () => {
    const app = await buildRoutingApp({ providers: { mock: { type: 'mock' } } })
    expect(app.stateStore).toMatchObject({ type: 'memory', keyPrefix: 'anygate:', onError: 'allow' })
    expect(app.hasDecorator('redis')).toBe(false)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/echo'),
    })
    expect(res.statusCode).toBe(200)
  })

  it.skipIf(!redis)(
    'hands a reachable Redis to @fastify/redis, which quits it when the app closes',
    async () => {
      const app = await buildRoutingApp({
        store: {
          type: 'redis',
          url: 'redis://127.0.0.1:6379',
          key_prefix: `${prefix}plugin:`,
          on_error: 'deny',
        },
        providers: { mock: { type: 'mock' } },
      })
      const client = app.stateStore.redis!
      expect(app.stateStore).toMatchObject({ type: 'redis', keyPrefix: `${prefix}plugin:`, onError: 'deny' })
      expect(app.redis).toBe(client)
      expect(await client.ping()).toBe('PONG')
      await app.close()
      await expect.poll(() => client.status).toBe('end')
    },
  )
})
