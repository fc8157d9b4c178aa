// GET /health/ready with the router's clock in the test's hand: ready while every served public model
// has a target whose breaker would admit a call, degraded (503, naming the models) when one has none.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import {
  buildRoutingApp,
  chat,
  fail,
  hold,
  manualClock,
  openaiProvider,
  startUpstreams,
  targetHealth,
} from './helpers/routing.js'

const cooldownS = 30

async function ready(app: FastifyInstance) {
  const res = await app.inject({ method: 'GET', url: '/health/ready' })
  return { status: res.statusCode, body: res.json() as Record<string, unknown> }
}

async function twoModels(unreadyWhenDegraded = true) {
  const { up } = await startUpstreams('x', 'y', 'z')
  up.x.always(fail(503))
  up.y.always(fail(503))
  const clock = manualClock()
  const app = await buildRoutingApp(
    {
      server: { unready_when_degraded: unreadyWhenDegraded },
      routing: {
        strategy: 'priority',
        retries: 0,
        circuit_breaker: { consecutive_failures: 1, cooldown_s: cooldownS },
      },
      providers: {
        x: openaiProvider(up.x),
        y: openaiProvider(up.y),
        z: openaiProvider(up.z),
        off: openaiProvider(up.z, { enabled: false }),
      },
      models: [
        {
          name: 'svc',
          targets: [
            { provider: 'x', model: 'm', priority: 0 },
            { provider: 'y', model: 'm', priority: 1 },
          ],
        },
        { name: 'other', targets: [{ provider: 'z', model: 'm' }] },
        // Not served at all (its only provider is disabled): never a reason to be unready.
        { name: 'dormant', targets: [{ provider: 'off', model: 'm' }] },
      ],
    },
    { now: clock.now },
  )
  // buildRoutingApp does not listen; the lifecycle says "ready" once it would have.
  app.lifecycle.state = 'ready'
  return { app, clock, up }
}

describe('GET /health/ready', () => {
  it('stays 200 while one target per model is usable, and ignores models that are not served', async () => {
    const { app } = await twoModels()
    expect(await ready(app)).toEqual({ status: 200, body: { status: 'ok', providers: ['x', 'y', 'z'] } })

    // One request fails on x (retries: 0) and opens x only; svc still has y.
    expect((await chat(app, 'svc')).statusCode).toBe(503)
    const health = await targetHealth(app)
    expect([health['x/m']!.state, health['y/m']!.state]).toEqual(['open', 'closed'])
    expect((await ready(app)).status).toBe(200)
  })

  it('answers 503 degraded naming the model once all its targets are open, and recovers after the cooldown', async () => {
    const { app, clock } = await twoModels()
    await chat(app, 'svc')
    await chat(app, 'svc')
    const health = await targetHealth(app)
    expect([health['x/m']!.state, health['y/m']!.state]).toEqual(['open', 'open'])

    expect(await ready(app)).toEqual({
      status: 503,
      body: { status: 'degraded', providers: ['x', 'y', 'z'], unavailable_models: ['svc'] },
    })
    // Still open one millisecond before the cooldown of the later breaker ends.
    clock.advance(cooldownS * 1000 - 1)
    expect((await ready(app)).status).toBe(503)
    // Half-open with no trial running: the router would admit a call, so the model is usable.
    clock.advance(1)
    expect((await targetHealth(app))['y/m']!.state).toBe('half_open')
    expect(await ready(app)).toMatchObject({ status: 200, body: { status: 'ok' } })
  })

  it('counts a half-open target as unusable while its single trial is running', async () => {
    const { app, clock, up } = await twoModels()
    up.z.always(fail(503))
    await chat(app, 'other')
    expect((await ready(app)).body).toMatchObject({ status: 'degraded', unavailable_models: ['other'] })

    clock.advance(cooldownS * 1000)
    up.z.always(hold())
    const trial = chat(app, 'other')
    await expect.poll(() => up.z.held()).toBe(1)
    expect((await ready(app)).body).toMatchObject({ status: 'degraded', unavailable_models: ['other'] })
    up.z.releaseHeld()
    expect((await trial).statusCode).toBe(200)
    expect(await ready(app)).toMatchObject({ status: 200, body: { status: 'ok' } })
  })

  it('by default stays 200 while degraded, naming the models, so one upstream outage does not empty the load balancer', async () => {
    const { app } = await twoModels(false)
    await chat(app, 'svc')
    await chat(app, 'svc')
    expect(await ready(app)).toEqual({
      status: 200,
      body: { status: 'degraded', providers: ['x', 'y', 'z'], unavailable_models: ['svc'] },
    })
  })

  it('reports starting and draining as before, whatever the breakers say', async () => {
    const { app } = await twoModels()
    await chat(app, 'svc')
    await chat(app, 'svc')
    app.lifecycle.state = 'starting'
    expect(await ready(app)).toEqual({ status: 503, body: { status: 'starting' } })
    app.lifecycle.state = 'draining'
    expect(await ready(app)).toEqual({ status: 503, body: { status: 'draining' } })
  })
})
