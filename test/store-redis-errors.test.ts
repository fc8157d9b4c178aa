// A Redis that is down, stalled or gone mid-run: the breaker store answers as store.on_error says,
// within the client's command timeout, and warns once per interval rather than once per call.
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { closedRecord } from '../plugins/router/breaker-state.js'
import { CircuitBreaker } from '../plugins/router/circuit-breaker.js'
import { redisClientOptions } from '../plugins/store/index.js'
import { RedisBreakerStore } from '../plugins/store/redis-breaker-store.js'
import { RedisGuard } from '../plugins/store/redis-guard.js'
import { closedPort, connectTestRedis, deleteKeys, startRedisRelay, uniquePrefix } from './helpers/redis.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('breaker-errors')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

const settings = {
  consecutive_failures: 1,
  error_rate: 0.5,
  window_s: 60,
  min_samples: 10,
  cooldown_s: 30,
  trial_timeout_s: 120,
}

/** A client as the store plugin makes it, closed when the test ends. */
function gatewayClient(url: string): Redis {
  const client = new Redis(url, redisClientOptions)
  client.on('error', () => {})
  onTestFinished(() => client.disconnect())
  return client
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

function warnings() {
  const lines: { details: object; message: string }[] = []
  return { lines, log: { warn: (details: object, message: string) => lines.push({ details, message }) } }
}

describe('Redis down', () => {
  it('on_error allow: reads as closed, writes as done, at once, with one warning', async () => {
    const client = gatewayClient(`redis://127.0.0.1:${await closedPort()}`)
    const { lines, log } = warnings()
    const store = new RedisBreakerStore({ client, keyPrefix: prefix, onError: 'allow', log })
    const breaker = new CircuitBreaker({ settings, store })

    const { value: admission, ms } = await timed(() => breaker.tryAcquire('a/m'))
    expect(admission.admitted).toBe(true)
    expect(ms).toBeLessThan(200)
    expect(await store.load('a/m')).toBeUndefined()
    expect(await store.compareAndSet('a/m', 7, closedRecord)).toBe(true)
    if (admission.admitted) await breaker.record(admission.permit, 'failure')
    // Nothing was stored, so nothing opened: allow trades shared breakers for availability.
    expect((await breaker.snapshot('a/m')).state).toBe('closed')

    expect(lines).toHaveLength(1)
    expect(lines[0]!.message).toContain('store.on_error: allow')
    expect(lines[0]!.details).toMatchObject({ store: 'breaker', on_error: 'allow' })
  })

  it('on_error deny: reads as open since now, refuses writes, so the breaker refuses the call', async () => {
    const client = gatewayClient(`redis://127.0.0.1:${await closedPort()}`)
    const { lines, log } = warnings()
    const now = () => 1_700_000_000_000
    const store = new RedisBreakerStore({ client, keyPrefix: prefix, onError: 'deny', log, now })
    const breaker = new CircuitBreaker({ settings, store, now })

    const { value: admission, ms } = await timed(() => breaker.tryAcquire('a/m'))
    expect(admission).toEqual({ admitted: false, state: 'open', retryAfterMs: 30_000 })
    expect(ms).toBeLessThan(200)
    expect(await breaker.isOpen('a/m')).toBe(true)
    expect(await store.compareAndSet('a/m', 0, (await store.load('a/m'))!.record)).toBe(false)
    expect(lines).toHaveLength(1)
    expect(lines[0]!.message).toContain('store.on_error: deny')
  })
})

describe('RedisGuard', () => {
  it('skips Redis for pauseMs after a failure and warns once per interval, counting what it held back', async () => {
    let now = 0
    const { lines, log } = warnings()
    const guard = new RedisGuard({
      onError: 'allow',
      store: 'breaker',
      log,
      pauseMs: 1000,
      warnEveryMs: 10_000,
      clock: () => now,
    })
    let calls = 0
    const failing = async () => {
      calls++
      throw new Error('ECONNREFUSED')
    }
    expect(await guard.run('load', failing, () => 'degraded')).toBe('degraded')
    expect(await guard.run('load', failing, () => 'degraded')).toBe('degraded')
    expect(calls).toBe(1)
    now += 1000
    await guard.run('load', failing, () => 'degraded')
    expect(calls).toBe(2)
    expect(lines).toHaveLength(1)
    now += 9000
    await guard.run('load', failing, () => 'degraded')
    expect(lines).toHaveLength(2)
    expect(lines[1]!.details).toMatchObject({ operation: 'load', err: 'ECONNREFUSED', suppressed: 2 })
    now += 1000
    expect(
      await guard.run(
        'load',
        async () => 'from redis',
        () => 'degraded',
      ),
    ).toBe('from redis')
  })
})

describe.skipIf(!redis)('Redis failing mid-run', () => {
  it('a stalled Redis costs one command timeout, then calls skip it until it answers again', async () => {
    const relay = await startRedisRelay()
    onTestFinished(() => relay.close())
    const client = gatewayClient(relay.url)
    await client.connect()
    const keyPrefix = `${prefix}stall:`
    const store = new RedisBreakerStore({ client, keyPrefix, onError: 'allow' })
    const opened = {
      state: 'open' as const,
      consecutiveFailures: 0,
      openedAt: 1,
      trialStartedAt: null,
      buckets: [],
    }
    expect(await store.compareAndSet('a/m', 0, opened)).toBe(true)

    relay.hang()
    const stalled = await timed(() => store.load('a/m'))
    expect(stalled.value).toBeUndefined()
    expect(stalled.ms).toBeGreaterThanOrEqual(400)
    expect(stalled.ms).toBeLessThan(1000)
    const paused = await timed(() => store.load('a/m'))
    expect(paused.value).toBeUndefined()
    expect(paused.ms).toBeLessThan(50)

    relay.restore()
    await expect
      .poll(() => store.load('a/m'), { timeout: 5000, interval: 200 })
      .toEqual({ version: 1, record: opened })
  })

  it('a Redis that goes away fails calls at once and is used again once it is back', async () => {
    const relay = await startRedisRelay()
    onTestFinished(() => relay.close())
    const client = gatewayClient(relay.url)
    await client.connect()
    const store = new RedisBreakerStore({ client, keyPrefix: `${prefix}drop:`, onError: 'deny' })

    expect(await store.load('a/m')).toBeUndefined()
    relay.drop()
    await expect.poll(() => client.status).not.toBe('ready')
    const dropped = await timed(() => store.load('a/m'))
    expect(dropped.value?.record.state).toBe('open')
    expect(dropped.ms).toBeLessThan(50)

    relay.restore()
    await expect.poll(() => client.status, { timeout: 5000 }).toBe('ready')
    await expect.poll(() => store.load('a/m'), { timeout: 3000, interval: 200 }).toBeUndefined()
  })
})
