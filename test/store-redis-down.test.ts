// A gateway whose Redis is down at startup, stalls or goes away mid-run: it starts anyway, and
// requests follow store.on_error quickly (allow: served; deny: a 503 without calling the upstream),
// never hanging on Redis.
import { performance } from 'node:perf_hooks'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { buildTestApp } from './helpers/app.js'
import { closedPort, connectTestRedis, deleteKeys, startRedisRelay, uniquePrefix } from './helpers/redis.js'
import { answer, chat, openaiProvider, startScriptedUpstream, targetHealth } from './helpers/routing.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('redis-down')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

async function gateway(url: string, onError: 'allow' | 'deny') {
  const upstream = await startScriptedUpstream('healthy')
  upstream.always(answer())
  const started = performance.now()
  const built = await buildTestApp({
    store: { type: 'redis', url, key_prefix: `${prefix}${onError}:`, on_error: onError },
    routing: { retries: 0 },
    providers: { openai: openaiProvider(upstream) },
    models: [{ name: 'svc', targets: [{ provider: 'openai', model: 'gpt-test' }] }],
  })
  return { ...built, upstream, startMs: performance.now() - started }
}

/** A gateway whose Redis is reached through a relay the test can stall or stop. */
async function relayedGateway(onError: 'allow' | 'deny') {
  const relay = await startRedisRelay()
  onTestFinished(() => relay.close())
  return { relay, ...(await gateway(relay.url, onError)) }
}

async function timedChat(app: Awaited<ReturnType<typeof gateway>>['app']) {
  const started = performance.now()
  const res = await chat(app, 'svc')
  return { res, ms: performance.now() - started }
}

describe('Redis unreachable at startup', () => {
  it('on_error allow: the gateway starts and serves, warning once', async () => {
    const { app, logs, upstream, startMs } = await gateway(`redis://127.0.0.1:${await closedPort()}`, 'allow')
    expect(startMs).toBeLessThan(2000)
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timedChat(app)
      expect(res.statusCode).toBe(200)
      expect(ms).toBeLessThan(2000)
    }
    expect(upstream.requests).toHaveLength(3)
    expect(logs.some((l) => String(l.msg).startsWith('redis did not answer at startup'))).toBe(true)
    const storeWarnings = logs.filter((l) => l.store === 'breaker')
    expect(storeWarnings).toHaveLength(1)
    expect(storeWarnings[0]).toMatchObject({ level: 40, on_error: 'allow' })
  })

  it('on_error deny: the gateway starts and answers 503 at once without calling the upstream', async () => {
    const { app, upstream, startMs } = await gateway(`redis://127.0.0.1:${await closedPort()}`, 'deny')
    expect(startMs).toBeLessThan(2000)
    const { res, ms } = await timedChat(app)
    expect(ms).toBeLessThan(2000)
    expect(res.statusCode).toBe(503)
    expect(res.json().error).toMatchObject({ type: 'service_unavailable', code: 'no_target_available' })
    expect(res.headers['retry-after']).toBeDefined()
    expect(upstream.requests).toHaveLength(0)
    expect((await targetHealth(app))['openai/gpt-test']!.state).toBe('open')
  })

  it('closes at once although its client is still reconnecting', async () => {
    const { app } = await gateway(`redis://127.0.0.1:${await closedPort()}`, 'allow')
    const client = app.stateStore.redis!
    const started = performance.now()
    await app.close()
    expect(performance.now() - started).toBeLessThan(500)
    let attempts = 0
    client.on('connecting', () => attempts++)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(attempts).toBe(0)
  })
})

describe.skipIf(!redis)('Redis failing mid-run', () => {
  it('on_error allow: a stalled Redis delays a request by at most a command timeout', async () => {
    const { relay, app, upstream } = await relayedGateway('allow')
    expect(app.stateStore.redis!.status).toBe('ready')
    expect((await timedChat(app)).res.statusCode).toBe(200)

    relay.hang()
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timedChat(app)
      expect(res.statusCode).toBe(200)
      expect(ms).toBeLessThan(2000)
    }
    expect(upstream.requests).toHaveLength(4)
    // Before the app closes: @fastify/redis sends QUIT, which a stalled Redis would time out.
    relay.restore()
  })

  it('on_error allow: concurrent requests on a stalled Redis are all served, none held 2 s', async () => {
    // Auto-pipelining (store/index.ts) sends a batch only after the one before it has settled: a
    // command queued behind a stalled batch waits out that batch's timeout, then its own (500 ms
    // each), so the bound here is above one command timeout.
    const { relay, app, upstream } = await relayedGateway('allow')
    expect((await timedChat(app)).res.statusCode).toBe(200)

    relay.hang()
    const results = await Promise.all(Array.from({ length: 8 }, () => timedChat(app)))
    expect(results.map(({ res }) => res.statusCode)).toEqual(Array(8).fill(200))
    for (const { ms } of results) expect(ms).toBeLessThan(2000)
    expect(upstream.requests).toHaveLength(9)
    relay.restore()
  })

  it('on_error deny: a stopped Redis turns requests into quick 503s, and its return lets them through', async () => {
    const { relay, app, upstream } = await relayedGateway('deny')
    expect((await timedChat(app)).res.statusCode).toBe(200)

    relay.drop()
    await expect.poll(() => app.stateStore.redis!.status).not.toBe('ready')
    const { res, ms } = await timedChat(app)
    expect(res.statusCode).toBe(503)
    expect(ms).toBeLessThan(2000)
    expect(upstream.requests).toHaveLength(1)

    relay.restore()
    await expect
      .poll(async () => (await chat(app, 'svc')).statusCode, { timeout: 8000, interval: 250 })
      .toBe(200)
  })
})
