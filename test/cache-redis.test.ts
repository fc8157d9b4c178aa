// The Redis backend through the gateway: two app instances on one Redis (as two replicas) share
// their cache, and a Redis that is down only costs the cache, never the request.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { buildTestApp, testConfig } from './helpers/app.js'
import { startCountingUpstream } from './helpers/counting-upstream.js'
import type { FakeUpstream } from './helpers/fake-upstream.js'
import { closedPort, testRedisUrl, uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'

const prefix = uniquePrefix('cache-replicas')
const redis = await connectRedisForFile(prefix)

const masterKey = 'sk-master-cache-redis'
const asMaster = { authorization: `Bearer ${masterKey}` }

const replicaConfig = (upstream: FakeUpstream, store: Record<string, unknown>) => ({
  auth: { master_key: masterKey },
  store: { type: 'redis', url: testRedisUrl, ...store },
  providers: { up: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream' } },
  models: [{ name: 'fast', targets: [{ provider: 'up', model: 'gpt-test' }] }],
  cache: { enabled: true, backend: 'redis' },
})

const question = (extra: Record<string, unknown> = {}) => ({
  model: 'fast',
  temperature: 0,
  messages: [{ role: 'user', content: 'shared?' }],
  ...extra,
})

const chat = (app: FastifyInstance, body: unknown) =>
  app.inject({ method: 'POST', url: '/v1/chat/completions', payload: body as object, headers: asMaster })
const purge = (app: FastifyInstance, query = '') =>
  app.inject({ method: 'DELETE', url: `/admin/cache${query}`, headers: asMaster })

describe.skipIf(!redis)('the Redis cache backend', () => {
  it('is shared by two gateway instances on the same Redis and prefix', async () => {
    const upstream = await startCountingUpstream()
    const config = replicaConfig(upstream, { key_prefix: `${prefix}shared:` })
    const one = await buildTestApp(config)
    const two = await buildTestApp(config)
    expect(one.app.responseCache?.bytes()).toBeNull()

    const first = await chat(one.app, question())
    expect(first.headers['x-anygate-cache']).toBe('MISS')
    const second = await chat(two.app, question())
    expect(second.headers['x-anygate-cache']).toBe('HIT')
    expect(second.body).toBe(first.body)

    await chat(one.app, question({ stream: true }))
    const replay = await chat(two.app, question({ stream: true }))
    expect(replay.headers['x-anygate-cache']).toBe('HIT')
    expect(replay.body.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(upstream.requests).toHaveLength(2)

    expect((await purge(two.app, '?model=fast')).json()).toMatchObject({ deleted: 2 })
    expect((await chat(one.app, question())).headers['x-anygate-cache']).toBe('MISS')
  })

  it('keeps gateways on different prefixes apart', async () => {
    const upstream = await startCountingUpstream()
    const one = await buildTestApp(replicaConfig(upstream, { key_prefix: `${prefix}a:` }))
    const two = await buildTestApp(replicaConfig(upstream, { key_prefix: `${prefix}b:` }))
    await chat(one.app, question())
    expect((await chat(two.app, question())).headers['x-anygate-cache']).toBe('MISS')
    await purge(one.app)
    expect((await chat(two.app, question())).headers['x-anygate-cache']).toBe('HIT')
  })
})

describe('the Redis cache backend without Redis', () => {
  it('serves every request from the upstream and warns, not per request', async () => {
    const upstream = await startCountingUpstream()
    const port = await closedPort()
    const { app, logs } = await buildTestApp({
      ...replicaConfig(upstream, { url: `redis://127.0.0.1:${port}`, on_error: 'allow' }),
    })
    for (let i = 0; i < 3; i++) {
      const res = await chat(app, question())
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-anygate-cache']).toBe('MISS')
    }
    expect(upstream.requests).toHaveLength(3)
    const warnings = logs.filter(
      (line) => line.msg === 'response cache unavailable: answering as a miss and not storing',
    )
    expect(warnings).toHaveLength(1)
    const refused = await purge(app)
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('cache_unavailable')
  })

  it('refuses to start with backend redis on a memory store', async () => {
    const upstream = await startCountingUpstream()
    const config = testConfig({ ...replicaConfig(upstream, {}), store: { type: 'memory' } })
    // buildApp awaits each plugin, so the refusal comes before anything listens.
    const built = buildApp(config, { logger: false }).then((app) => app.close())
    await expect(built).rejects.toThrow(/cache\.backend is redis but store\.type is memory/)
  })
})
