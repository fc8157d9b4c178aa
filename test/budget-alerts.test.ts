// Budget alerts to a loopback webhook: one POST per key, period and threshold crossed, even with two
// replicas sharing Redis; retried when the receiver fails; never holding a call up when it hangs.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { AlertNotifier } from '../plugins/spend/alerts.js'
import { budgetWindow } from '../plugins/spend/periods.js'
import { chatBody } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  bearer,
  buildSpendApp,
  configKey,
  manualClock,
  pricedModel,
  spendConfig,
  startUsageUpstream,
} from './spend-helpers.js'

const prefix = uniquePrefix('budget-alerts')
const redis = await connectRedisForFile(prefix)

interface Received {
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

/** A webhook receiver on 127.0.0.1: `answer` decides each reply (default 204). */
async function startReceiver(
  answer: (res: ServerResponse, attempt: number) => void = (res) => res.writeHead(204).end(),
) {
  const received: Received[] = []
  let attempts = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
    answer(res, ++attempts)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closeAfterTest(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/budget`, received }
}

// Each call costs $0.002 and reserves almost nothing (max_tokens 1 at $1 per million tokens), so a
// $0.005 budget reaches 40%, 80%, then 120% before calls are refused.
async function alertingReplicas(webhook: string, store: Record<string, unknown>, replicas = 1) {
  const upstream = await startUsageUpstream(() => ({ prompt: 1000, completion: 1000, cachedPrompt: 0 }))
  const clock = manualClock()
  const config = spendConfig(upstream, {
    keys: [configKey('team-a', { budget: { amount_usd: 0.005, period: 'daily' } })],
    models: [pricedModel('smart', 'house')],
    store,
    budgets: { alert_webhook: webhook, alert_headers: { 'x-hook-token': 'hook-secret-123' } },
  })
  const apps: FastifyInstance[] = []
  for (let i = 0; i < replicas; i++)
    apps.push((await buildSpendApp(config, { now: clock.now, alertRetryDelaysMs: [5, 10, 20] })).app)
  let turn = 0
  const call = async () => {
    const app = apps[turn++ % apps.length]!
    const response = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: bearer('team-a'),
      payload: chatBody('smart', 'hi', { max_tokens: 1 }),
    })
    await Promise.all(apps.map((a) => a.spend.flush()))
    return response.statusCode
  }
  return { apps, call, clock }
}

// On Redis, two replicas share the alerts: still one POST per threshold.
const stores = storeKinds(redis, prefix).map((kind) => ({ ...kind, replicas: kind.name === 'redis' ? 2 : 1 }))

describe.each(stores)(
  'budget alerts on the $name store, $replicas replica(s)',
  ({ available, store, replicas }) => {
    const it_ = available ? it : it.skip

    it_('posts once per threshold crossed, with the key, period and amounts', async () => {
      const receiver = await startReceiver()
      const { call, clock } = await alertingReplicas(receiver.url, store(), replicas)
      expect(await call()).toBe(200)
      expect(receiver.received).toHaveLength(0)
      expect(await call()).toBe(200)
      expect(await call()).toBe(200)
      expect(await call()).toBe(429)
      expect(await call()).toBe(429)
      const resetsAt = new Date(budgetWindow('daily', clock.now()).resetsAt!).toISOString()
      expect(receiver.received.map((r) => r.body)).toEqual([
        {
          key_id: 'cfg-team-a',
          key_name: 'team-a',
          period: 'daily',
          spent_usd: 0.004,
          budget_usd: 0.005,
          threshold: 0.8,
          resets_at: resetsAt,
        },
        {
          key_id: 'cfg-team-a',
          key_name: 'team-a',
          period: 'daily',
          spent_usd: 0.006,
          budget_usd: 0.005,
          threshold: 1,
          resets_at: resetsAt,
        },
      ])
      expect(receiver.received[0]!.headers).toMatchObject({
        'content-type': 'application/json',
        'x-hook-token': 'hook-secret-123',
      })
    })

    it_('alerts again in the next period', async () => {
      const receiver = await startReceiver()
      const { call, clock } = await alertingReplicas(receiver.url, store(), replicas)
      await call()
      await call()
      expect(receiver.received).toHaveLength(1)
      clock.set(budgetWindow('daily', clock.now()).resetsAt!)
      await call()
      await call()
      expect(receiver.received.map((r) => r.body.threshold)).toEqual([0.8, 0.8])
    })
  },
)

describe('alert delivery', () => {
  it('retries a failing receiver with backoff until it takes the alert', async () => {
    const receiver = await startReceiver((res, attempt) => res.writeHead(attempt < 3 ? 503 : 200).end())
    const { call } = await alertingReplicas(receiver.url, { type: 'memory' })
    await call()
    await call()
    expect(receiver.received.map((r) => r.body.threshold)).toEqual([0.8, 0.8, 0.8])
  })

  it('logs an alert it could not deliver, without the webhook headers', async () => {
    const receiver = await startReceiver((res) => res.writeHead(500).end())
    const upstream = await startUsageUpstream(() => ({ prompt: 1000, completion: 1000, cachedPrompt: 0 }))
    const { app, logs, rawLogs } = await buildSpendApp(
      spendConfig(upstream, {
        keys: [configKey('team-a', { budget: { amount_usd: 0.002, period: 'total' } })],
        models: [pricedModel('smart', 'house')],
        budgets: {
          alert_webhook: receiver.url,
          alert_headers: { 'x-hook-token': 'hook-secret-123' },
          thresholds: [1],
        },
      }),
      { alertRetryDelaysMs: [5] },
    )
    await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: bearer('team-a'),
      payload: chatBody('smart', 'hi', { max_tokens: 1 }),
    })
    await app.spend.flush()
    expect(receiver.received).toHaveLength(2)
    const lost = logs.find((line) => line.msg === 'budget alert not delivered')
    expect(lost).toMatchObject({
      level: 50,
      attempts: 2,
      alert: { key_id: 'cfg-team-a', threshold: 1, resets_at: null },
    })
    expect(rawLogs.join('')).not.toContain('hook-secret-123')
  })

  it('gives a hanging receiver up after its timeout', async () => {
    const receiver = await startReceiver(() => {})
    const errors: Record<string, unknown>[] = []
    const notifier = new AlertNotifier({
      url: receiver.url,
      headers: {},
      thresholds: [0.5],
      store: { claimAlert: async () => true },
      log: { warn: () => {}, error: (fields: Record<string, unknown>) => errors.push(fields) },
      retryDelaysMs: [],
      timeoutMs: 200,
    })
    const started = performance.now()
    notifier.check(
      { scope: 'k:total', keyId: 'k', keyName: 'k', period: 'total', limitNanos: 100, resetsAt: null },
      60,
    )
    await notifier.idle()
    expect(performance.now() - started).toBeLessThan(2000)
    expect(receiver.received).toHaveLength(1)
    expect(errors).toEqual([
      expect.objectContaining({ attempts: 1, err: expect.stringMatching(/timeout|abort/i) }),
    ])
  })

  it('never holds a call up while the receiver hangs', async () => {
    const receiver = await startReceiver(() => {})
    const { apps } = await alertingReplicas(receiver.url, { type: 'memory' })
    const app = apps[0]!
    const started = performance.now()
    for (let i = 0; i < 3; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: bearer('team-a'),
        payload: chatBody('smart', 'hi', { max_tokens: 1 }),
      })
      expect(response.statusCode).toBe(200)
    }
    expect(performance.now() - started).toBeLessThan(2000)
    await expect.poll(() => receiver.received.length).toBe(1)
  })
})
