// Active health checks against loopback fakes, with intervals of tens of milliseconds: probes feed the
// breaker (a dead upstream opens with no user request, a recovered one closes on the probe trial),
// never overlap, time out, stop when the app closes, and keep keys out of logs and health output.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../config/load.js'
import { buildTestApp, testConfig } from './helpers/app.js'
import {
  answer,
  buildRoutingApp,
  fail,
  hold,
  manualClock,
  openaiProvider,
  type ScriptedUpstream,
  stall,
  startUpstreams,
  targetHealth,
} from './helpers/routing.js'

const intervalS = 0.02
const cooldownS = 30
const apiKey = 'sk-health-check-secret-0123456789'

const stateOf = async (app: FastifyInstance, id: string) => (await targetHealth(app))[id]!.state

function probed(upstream: ScriptedUpstream) {
  return upstream.requests.filter((r) => r.url === '/v1/chat/completions')
}

async function probedApp(upstream: ScriptedUpstream, healthCheck: Record<string, unknown> = {}) {
  const clock = manualClock()
  const app = await buildRoutingApp(
    {
      server: { unready_when_degraded: true },
      routing: { circuit_breaker: { consecutive_failures: 2, cooldown_s: cooldownS } },
      providers: {
        a: openaiProvider(upstream, {
          api_key: apiKey,
          health_check: { interval_s: intervalS, ...healthCheck },
        }),
      },
      models: [{ name: 'svc', targets: [{ provider: 'a', model: 'up-model' }] }],
    },
    { now: clock.now },
  )
  app.lifecycle.state = 'ready'
  return { app, clock }
}

describe('active health checks', () => {
  it('sends a one-token completion for the target model through the adapter, with its key', async () => {
    const { up } = await startUpstreams('a')
    await probedApp(up.a)
    await expect.poll(() => probed(up.a).length).toBeGreaterThanOrEqual(2)
    const [first] = probed(up.a)
    expect(first!.method).toBe('POST')
    expect(first!.headers.authorization).toBe(`Bearer ${apiKey}`)
    expect(first!.body).toMatchObject({
      model: 'up-model',
      max_completion_tokens: 1,
      messages: [{ role: 'user', content: 'ping' }],
    })
    expect((first!.body as { stream?: unknown }).stream).not.toBe(true)
  })

  it('opens the breaker of a dead upstream before any user request, and readiness follows', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(fail(503))
    const { app } = await probedApp(up.a)
    await expect.poll(() => stateOf(app, 'a/up-model')).toBe('open')
    expect((await targetHealth(app))['a/up-model']!.last_error).toMatchObject({ status: 503 })
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ status: 'degraded', unavailable_models: ['svc'] })
    // Every call the upstream saw was a probe: two failures opened it.
    expect(probed(up.a)).toHaveLength(2)
  })

  it('stops probing while open, then closes the breaker with the probe as the half-open trial', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(fail(503))
    const { app, clock } = await probedApp(up.a)
    await expect.poll(() => stateOf(app, 'a/up-model')).toBe('open')
    const whenOpened = probed(up.a).length
    // Ten intervals of real time, but the injected clock is still inside the cooldown.
    await sleep(intervalS * 1000 * 10)
    expect(probed(up.a)).toHaveLength(whenOpened)

    up.a.always(answer())
    clock.advance(cooldownS * 1000)
    await expect.poll(() => stateOf(app, 'a/up-model')).toBe('closed')
    expect(probed(up.a).length).toBeGreaterThan(whenOpened)
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
  })

  it('keeps one probe in flight per target, even when two public models share the target', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(hold())
    const app = await buildRoutingApp({
      providers: { a: openaiProvider(up.a, { health_check: { interval_s: 0.005, timeout_s: 60 } }) },
      models: [
        { name: 'one', targets: [{ provider: 'a', model: 'm' }] },
        { name: 'two', targets: [{ provider: 'a', model: 'm' }] },
      ],
    })
    await expect.poll(() => up.a.held()).toBe(1)
    // Forty intervals pass while the first probe hangs: none starts beside it.
    await sleep(200)
    expect(up.a.held()).toBe(1)
    expect(probed(up.a)).toHaveLength(1)
    expect((await targetHealth(app))['a/m']!.in_flight).toBe(0)

    up.a.always(answer())
    up.a.releaseHeld()
    await expect.poll(() => probed(up.a).length).toBeGreaterThanOrEqual(3)
  })

  it('counts a probe past timeout_s as a failure and hangs up on the upstream', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(stall())
    const { app } = await probedApp(up.a, { timeout_s: 0.05 })
    await expect.poll(() => stateOf(app, 'a/up-model')).toBe('open')
    const health = (await targetHealth(app))['a/up-model']!
    expect(health.last_error).toMatchObject({ status: 504, code: 'upstream_timeout' })
    expect(health.last_error!.message).toContain('providers.a.health_check.timeout_s')
    await Promise.all(probed(up.a).map((r) => r.ended))
    expect(probed(up.a).every((r) => r.aborted)).toBe(true)
  })

  it('aborts the probe in flight and schedules no more once the app closes', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(hold())
    const { app } = await probedApp(up.a, { timeout_s: 60 })
    await expect.poll(() => up.a.held()).toBe(1)
    await app.close()
    const [held] = probed(up.a)
    await held!.ended
    expect(held!.aborted).toBe(true)
    up.a.always(answer())
    await sleep(intervalS * 1000 * 10)
    expect(probed(up.a)).toHaveLength(1)
  })

  it('only probes providers that opt in', async () => {
    const { up } = await startUpstreams('a', 'b')
    await buildRoutingApp({
      providers: {
        a: openaiProvider(up.a, { health_check: { interval_s: intervalS } }),
        b: openaiProvider(up.b),
      },
      models: [
        {
          name: 'svc',
          targets: [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
        },
      ],
    })
    await expect.poll(() => probed(up.a).length).toBeGreaterThanOrEqual(5)
    expect(up.b.requests).toHaveLength(0)
  })

  it('leaves the breaker closed on a refusal such as 401, warns once, and never logs the key', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(
      fail(401, {
        message: `Incorrect API key provided: ${apiKey}.`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      }),
    )
    const { app, logs, rawLogs } = await buildTestApp({
      routing: { circuit_breaker: { consecutive_failures: 1 } },
      providers: {
        a: openaiProvider(up.a, { api_key: apiKey, health_check: { interval_s: intervalS } }),
      },
      models: [{ name: 'svc', targets: [{ provider: 'a', model: 'm' }] }],
    })
    await expect.poll(() => probed(up.a).length).toBeGreaterThanOrEqual(5)
    const health = (await targetHealth(app))['a/m']!
    expect(health.state).toBe('closed')
    expect(health.last_error).toMatchObject({ status: 401 })
    expect(JSON.stringify(health)).not.toContain(apiKey)
    const warnings = logs.filter((l) => String(l.msg).startsWith('health check refused'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ target: 'a/m', status: 401 })
    expect(rawLogs.join('')).not.toContain(apiKey)
  })
})

describe('providers.<name>.health_check config', () => {
  const withCheck = (healthCheck: unknown) =>
    testConfig({
      providers: { a: { type: 'openai', base_url: 'http://127.0.0.1:1/v1', health_check: healthCheck } },
    })

  it('defaults timeout_s to 10 seconds', () => {
    expect(withCheck({ interval_s: 30 }).providers[0]!.health_check).toEqual({
      interval_s: 30,
      timeout_s: 10,
    })
  })

  it('rejects a missing or non-positive interval and unknown keys, by path', () => {
    const problems = (healthCheck: unknown) => {
      try {
        withCheck(healthCheck)
      } catch (err) {
        if (err instanceof ConfigError) return err.problems
        throw err
      }
      return []
    }
    expect(problems({})).toEqual([expect.stringContaining('providers.a.health_check.interval_s')])
    expect(problems({ interval_s: 0 })).toEqual([
      expect.stringContaining('providers.a.health_check.interval_s'),
    ])
    expect(problems({ interval_s: 30, kind: 'models' })).toEqual([
      expect.stringContaining('providers.a.health_check'),
    ])
  })
})
