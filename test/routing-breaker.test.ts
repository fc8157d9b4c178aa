// Circuit breakers seen through GET /health/providers, with the router's clock in the test's hand:
// open after consecutive failures, skipped while open, one trial when half-open, closed on success.
import { describe, expect, it } from 'vitest'
import {
  answer,
  buildRoutingApp,
  chat,
  fail,
  hold,
  manualClock,
  providersFor,
  type ScriptedUpstream,
  startUpstreams,
  targetHealth,
} from './helpers/routing.js'

const cooldownS = 30
const breakerSettings = { consecutive_failures: 2, cooldown_s: cooldownS }

async function primaryAndBackup(primary: ScriptedUpstream, backup: ScriptedUpstream) {
  const clock = manualClock()
  const app = await buildRoutingApp(
    {
      routing: { strategy: 'priority', backoff_ms: { base: 1, max: 5 }, circuit_breaker: breakerSettings },
      providers: providersFor({ primary, backup }),
      models: [
        {
          name: 'svc',
          targets: [
            { provider: 'primary', model: 'm', priority: 0 },
            { provider: 'backup', model: 'm', priority: 1 },
          ],
        },
      ],
    },
    { now: clock.now },
  )
  const state = async () => (await targetHealth(app))['primary/m']!.state
  return { app, clock, state }
}

describe('circuit breaker', () => {
  it('opens after consecutive failures, skips the target, half-opens after the cooldown, closes on a good trial', async () => {
    const { up } = await startUpstreams('primary', 'backup')
    up.primary.always(fail(503))
    const { app, clock, state } = await primaryAndBackup(up.primary, up.backup)
    expect(await state()).toBe('closed')

    for (let i = 0; i < breakerSettings.consecutive_failures; i++) {
      const res = await chat(app, 'svc')
      expect(res.headers['x-anygate-provider']).toBe('backup')
      expect(res.headers['x-anygate-attempts']).toBe('2')
      expect(await state()).toBe(i + 1 < breakerSettings.consecutive_failures ? 'closed' : 'open')
    }
    const health = await targetHealth(app)
    expect(health['primary/m']!.last_error).toMatchObject({ status: 503 })
    expect(health['backup/m']!.state).toBe('closed')

    // Open: the primary is not even tried.
    const callsWhenOpened = up.primary.requests.length
    clock.advance(cooldownS * 1000 - 1)
    const whileOpen = await chat(app, 'svc')
    expect(whileOpen.headers['x-anygate-provider']).toBe('backup')
    expect(whileOpen.headers['x-anygate-attempts']).toBe('1')
    expect(up.primary.requests).toHaveLength(callsWhenOpened)
    expect(await state()).toBe('open')

    // Cooldown over: half-open, and exactly one trial goes through while it runs.
    clock.advance(1)
    expect(await state()).toBe('half_open')
    up.primary.always(hold())
    const trial = chat(app, 'svc')
    await expect.poll(() => up.primary.held()).toBe(1)
    const duringTrial = await chat(app, 'svc')
    expect(duringTrial.headers['x-anygate-provider']).toBe('backup')
    expect(up.primary.requests).toHaveLength(callsWhenOpened + 1)
    const midTrial = (await targetHealth(app))['primary/m']!
    expect(midTrial).toMatchObject({ state: 'half_open', in_flight: 1 })

    // The trial succeeds: closed, and the primary takes traffic again.
    up.primary.always(answer())
    up.primary.releaseHeld()
    expect((await trial).headers['x-anygate-provider']).toBe('primary')
    expect(await state()).toBe('closed')
    expect((await chat(app, 'svc')).headers['x-anygate-provider']).toBe('primary')
  })

  it('re-opens for a full cooldown when the half-open trial fails', async () => {
    const { up } = await startUpstreams('primary', 'backup')
    up.primary.always(fail(503))
    const { app, clock, state } = await primaryAndBackup(up.primary, up.backup)
    for (let i = 0; i < breakerSettings.consecutive_failures; i++) await chat(app, 'svc')
    expect(await state()).toBe('open')

    clock.advance(cooldownS * 1000)
    expect(await state()).toBe('half_open')
    const calls = up.primary.requests.length
    const res = await chat(app, 'svc')
    expect(res.headers['x-anygate-provider']).toBe('backup')
    expect(up.primary.requests).toHaveLength(calls + 1)
    expect(await state()).toBe('open')

    // The cooldown restarts from the failed trial, not from the first opening.
    clock.advance(cooldownS * 1000 - 1)
    expect(await state()).toBe('open')
    clock.advance(1)
    expect(await state()).toBe('half_open')
  })
})

describe('every target open', () => {
  async function allOpen(fallbacks: string[] = []) {
    const { up } = await startUpstreams('x', 'y', 'z')
    up.x.always(fail(503))
    up.y.always(fail(503))
    const clock = manualClock()
    const app = await buildRoutingApp(
      {
        routing: {
          retries: 1,
          backoff_ms: { base: 1, max: 5 },
          circuit_breaker: { consecutive_failures: 1, cooldown_s: cooldownS },
        },
        providers: providersFor(up),
        models: [
          {
            name: 'svc',
            targets: [
              { provider: 'x', model: 'm' },
              { provider: 'y', model: 'm' },
            ],
            fallbacks,
          },
          { name: 'spare', targets: [{ provider: 'z', model: 'm' }] },
        ],
      },
      { now: clock.now },
    )
    // One request fails on both targets and opens both breakers.
    const first = await chat(app, 'svc')
    const health = await targetHealth(app)
    expect([health['x/m']!.state, health['y/m']!.state]).toEqual(['open', 'open'])
    return { app, clock, up, first }
  }

  it('answers 503 no_target_available with Retry-After until the earliest cooldown ends', async () => {
    const { app, clock, up, first } = await allOpen()
    // The upstream's own failure first; after that the gateway knows better than to call.
    expect(first.json().error.type).toBe('upstream_error')
    const elapsedS = 10
    clock.advance(elapsedS * 1000)
    const res = await chat(app, 'svc')
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe(String(cooldownS - elapsedS))
    const { error } = res.json()
    expect(error.code).toBe('no_target_available')
    expect(error.message).toContain('svc')
    expect(error.message).toContain('2 circuit open')
    expect(up.x.requests).toHaveLength(1)
    expect(up.y.requests).toHaveLength(1)
  })

  it('goes to the fallback model without touching the open targets', async () => {
    const { app, up, first } = await allOpen(['spare'])
    expect(first.headers['x-anygate-fallback']).toBe('svc -> spare')
    const res = await chat(app, 'svc')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('z')
    expect(res.headers['x-anygate-fallback']).toBe('svc -> spare')
    expect(res.headers['x-anygate-attempts']).toBe('1')
    expect(up.x.requests).toHaveLength(1)
    expect(up.y.requests).toHaveLength(1)
  })
})
