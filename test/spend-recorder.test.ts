// Nothing lost: a spend write that fails while Redis is away is retried and lands once Redis is
// back; one that fails on every attempt is logged with the whole record. And with Redis down, the
// report answers 503 instead of hanging.
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { utcDay } from '../plugins/spend/periods.js'
import { SpendRecorder } from '../plugins/spend/recorder.js'
import { RedisSpendStore } from '../plugins/spend/redis-spend-store.js'
import { redisClientOptions } from '../plugins/store/index.js'
import { closedPort, startRedisRelay, uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
import { buildSpendApp, manualClock, masterAuth, masterKey } from './spend-helpers.js'

const prefix = uniquePrefix('spend-recorder')
const redis = await connectRedisForFile(prefix)

function gatewayClient(url: string): Redis {
  const client = new Redis(url, redisClientOptions)
  client.on('error', () => {})
  onTestFinished(() => client.disconnect())
  return client
}

const entry = {
  keyId: 'cfg-team-a',
  keyName: 'team-a',
  model: 'smart',
  requests: 1,
  promptTokens: 10,
  completionTokens: 5,
  costNanos: 1234,
}

function errorLog() {
  const lines: { details: Record<string, unknown>; message: string }[] = []
  return {
    lines,
    log: {
      error: (details: Record<string, unknown>, message: string) => void lines.push({ details, message }),
    },
  }
}

describe.skipIf(!redis)('the spend recorder', () => {
  it('retries a write while Redis is unreachable and writes it once Redis is back', async () => {
    const relay = await startRedisRelay()
    onTestFinished(() => relay.close())
    const client = gatewayClient(relay.url)
    await client.connect()
    const clock = manualClock()
    const store = new RedisSpendStore({ client, keyPrefix: prefix, retentionDays: 30 })
    const { lines, log } = errorLog()
    const recorder = new SpendRecorder({ store, log, now: clock.now, retryDelaysMs: [300, 600, 1200, 2400] })
    relay.drop()
    recorder.record(entry)
    setTimeout(() => relay.restore(), 400)
    await recorder.flush()
    expect(lines).toEqual([])
    const rows = await new RedisSpendStore({ client: redis!, keyPrefix: prefix, retentionDays: 30 }).query({
      days: [utcDay(clock.now())],
    })
    const { keyName: _, ...counts } = entry
    expect(rows).toEqual([{ day: utcDay(clock.now()), ...counts }])
  })

  it('logs the whole record when every attempt failed', async () => {
    const client = gatewayClient(`redis://127.0.0.1:${await closedPort()}`)
    const clock = manualClock()
    const { lines, log } = errorLog()
    const recorder = new SpendRecorder({
      store: new RedisSpendStore({ client, keyPrefix: prefix, retentionDays: 30 }),
      log,
      now: clock.now,
      retryDelaysMs: [5, 5],
    })
    recorder.record(entry)
    await recorder.flush()
    expect(lines).toHaveLength(1)
    expect(lines[0]!.message).toContain('spend record lost')
    expect(lines[0]!.details).toMatchObject({ attempts: 3, spend: { day: utcDay(clock.now()), ...entry } })
  })
})

describe('with Redis down', () => {
  it('GET /admin/spend answers 503 at once', async () => {
    const { app } = await buildSpendApp({
      store: { type: 'redis', url: `redis://127.0.0.1:${await closedPort()}`, key_prefix: 'never:' },
      auth: { master_key: masterKey },
      providers: { mock: { type: 'mock' } },
    })
    const started = performance.now()
    const answer = await app.inject({ method: 'GET', url: '/admin/spend', headers: masterAuth })
    expect(performance.now() - started).toBeLessThan(1000)
    expect(answer.statusCode).toBe(503)
    expect(answer.json().error).toMatchObject({ code: 'store_unavailable', type: 'service_unavailable' })
  })
})
