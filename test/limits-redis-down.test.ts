// The limits when Redis is unreachable (a store pointed at a closed port) or goes away mid-run:
// store.on_error allow serves without limits and warns once; deny refuses with a 503 in the error
// shape, without calling the upstream. Neither waits on Redis.
import { performance } from 'node:perf_hooks'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closedPort, startRedisRelay } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
import {
  chatRequest,
  limitsConfig,
  limitsTestPrefix,
  manualClock,
  postChat,
  startControlledUpstream,
  startGateway,
  teamKey,
} from './limits-helpers.js'

const redis = await connectRedisForFile(limitsTestPrefix)

const everyLimit = {
  keyLimits: { rpm: 1, tpm: 100, max_parallel: 1 },
  limits: { global_rpm: 1, per_ip_rpm: 1, models: { svc: { rpm: 1, tpm: 100 } } },
}

async function gatewayOn(url: string, onError: 'allow' | 'deny') {
  const upstream = await startControlledUpstream()
  const store = { type: 'redis', url, key_prefix: `${limitsTestPrefix}down-${onError}:`, on_error: onError }
  const gateway = await startGateway(limitsConfig(upstream, store, everyLimit), manualClock())
  return { upstream, gateway }
}

async function timedChat(gateway: Parameters<typeof postChat>[0]) {
  const started = performance.now()
  const res = await postChat(gateway, chatRequest({ max_tokens: 10 }))
  return { res, ms: performance.now() - started }
}

describe('Redis unreachable', () => {
  it('on_error allow: every limit lets calls through, with one rate-limited warning per store', async () => {
    const { upstream, gateway } = await gatewayOn(`redis://127.0.0.1:${await closedPort()}`, 'allow')
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await timedChat(gateway)
      expect(res.status).toBe(200)
      expect(ms).toBeLessThan(2000)
      expect(res.headers.get('x-ratelimit-limit-requests')).toBeNull()
    }
    expect(upstream.requests).toHaveLength(3)
    const stores = ['rate-limit', 'request-limits', 'max-parallel', 'token-limits']
    const warnings = gateway.logs.filter((l) => stores.includes(String(l.store)))
    expect(warnings.map((l) => l.store).sort()).toEqual([...stores].sort())
    for (const warning of warnings) {
      expect(warning).toMatchObject({ level: 40, on_error: 'allow' })
    }
    expect(gateway.rawLogs.join('')).not.toContain(teamKey)
    // Each fallback is also counted, by store, for alerting on a degraded Redis.
    const metrics = (await gateway.app.inject({ method: 'GET', url: '/metrics' })).body
    for (const store of stores) {
      const line = metrics
        .split('\n')
        .find((l) => l.startsWith(`anygate_store_fallbacks_total{store="${store}",on_error="allow"}`))
      expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(1)
    }
  })

  it('on_error deny: a 503 in the error shape, quickly, and the upstream is never called', async () => {
    const { upstream, gateway } = await gatewayOn(`redis://127.0.0.1:${await closedPort()}`, 'deny')
    const { res, ms } = await timedChat(gateway)
    expect(ms).toBeLessThan(2000)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.json()).toEqual({
      error: {
        message:
          'Rate limits cannot be checked: the state store (Redis) is unreachable and store.on_error is deny. Retry shortly.',
        type: 'service_unavailable',
        param: null,
        code: 'limits_unavailable',
      },
    })
    expect(upstream.requests).toHaveLength(0)
  })
})

describe.runIf(redis)('Redis stopped mid-run', () => {
  it.each(['allow', 'deny'] as const)(
    'on_error %s, and its return brings the limits back',
    async (onError) => {
      const relay = await startRedisRelay()
      onTestFinished(() => relay.close())
      const { upstream, gateway } = await gatewayOn(relay.url, onError)
      const first = await timedChat(gateway)
      expect(first.res.status).toBe(200)
      expect(first.res.headers.get('x-ratelimit-remaining-requests')).toBe('0')

      relay.drop()
      await expect.poll(() => gateway.app.stateStore.redis!.status).not.toBe('ready')
      const second = await timedChat(gateway)
      expect(second.ms).toBeLessThan(2000)
      // Redis would have refused this one (rpm 1); without Redis, on_error decides.
      expect(second.res.status).toBe(onError === 'allow' ? 200 : 503)
      expect(upstream.requests).toHaveLength(onError === 'allow' ? 2 : 1)

      // Back: the counts kept in Redis apply again (and @fastify/redis can QUIT when the app closes).
      relay.restore()
      await expect
        .poll(async () => (await timedChat(gateway)).res.status, { timeout: 8000, interval: 250 })
        .toBe(429)
    },
  )
})
