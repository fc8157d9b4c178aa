// GET /admin/providers and the runtime switches: the state of every provider and target, targets of
// a disabled provider skipped (reason provider_disabled) until enabled again or the next reload.
import { describe, expect, it } from 'vitest'
import { bearer, buildFileApp, chat, errorOf, linesWith, withMaster } from './reload-helpers.js'

const config = withMaster({
  routing: { retries: 0 },
  providers: {
    main: { type: 'mock' },
    backup: { type: 'mock', base_url: 'https://user:hunter2-secret@mock.example/v1' },
    spare: { type: 'mock', enabled: false },
  },
  models: [
    {
      name: 'chat',
      strategy: 'priority',
      targets: [
        { provider: 'main', model: 'echo', priority: 0 },
        { provider: 'backup', model: 'fixed', priority: 1 },
      ],
    },
    { name: 'solo', targets: [{ provider: 'main', model: 'fixed' }] },
    { name: 'later', targets: [{ provider: 'spare', model: 'echo' }] },
  ],
})

describe('GET /admin/providers', () => {
  it('lists every configured provider with its switches and its targets', async () => {
    const gateway = await buildFileApp(config)
    const res = await gateway.admin('GET', '/admin/providers')
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({
      providers: [
        {
          name: 'main',
          type: 'mock',
          enabled: true,
          configured_enabled: true,
          runtime_override: null,
          base_url: null,
          targets: [
            {
              id: 'main/echo',
              model: 'chat',
              upstream_model: 'echo',
              circuit: 'closed',
              inflight: 0,
              healthy: true,
            },
            {
              id: 'main/fixed',
              model: 'solo',
              upstream_model: 'fixed',
              circuit: 'closed',
              inflight: 0,
              healthy: true,
            },
          ],
        },
        {
          name: 'backup',
          type: 'mock',
          enabled: true,
          configured_enabled: true,
          runtime_override: null,
          base_url: 'https://[redacted]@mock.example/v1',
          targets: [
            {
              id: 'backup/fixed',
              model: 'chat',
              upstream_model: 'fixed',
              circuit: 'closed',
              inflight: 0,
              healthy: true,
            },
          ],
        },
        {
          name: 'spare',
          type: 'mock',
          enabled: false,
          configured_enabled: false,
          runtime_override: null,
          base_url: null,
          targets: [
            {
              id: 'spare/echo',
              model: 'later',
              upstream_model: 'echo',
              circuit: 'closed',
              inflight: 0,
              healthy: false,
            },
          ],
        },
      ],
    })
    expect(res.body).not.toContain('hunter2')
  })

  it('counts a call in flight on its target', async () => {
    const gateway = await buildFileApp(config)
    const slow = gateway.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { ...bearer, 'x-mock-latency-ms': '400' },
      payload: { model: 'solo', messages: [{ role: 'user', content: 'hi' }] },
    })
    const inflight = async () => {
      const { providers } = (await gateway.admin('GET', '/admin/providers')).json()
      return providers[0].targets[1].inflight
    }
    await expect.poll(inflight).toBe(1)
    expect((await slow).statusCode).toBe(200)
    expect(await inflight()).toBe(0)
  })
})

describe('POST /admin/providers/{name}/enable|disable', () => {
  it('skips a disabled provider until it is enabled again', async () => {
    const gateway = await buildFileApp(config)
    const off = await gateway.admin('POST', '/admin/providers/main/disable')
    expect(off.statusCode, off.body).toBe(200)
    expect(off.json()).toMatchObject({
      name: 'main',
      enabled: false,
      configured_enabled: true,
      runtime_override: 'disabled',
      targets: [
        { id: 'main/echo', healthy: false },
        { id: 'main/fixed', healthy: false },
      ],
    })

    // The other target of the model takes over; a model with no other target is unavailable.
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-provider']).toBe('backup')
    const refused = errorOf(await chat(gateway.app, 'solo'), 503)
    expect(refused.code).toBe('no_target_available')
    expect(refused.message).toContain('1 provider disabled by an operator')
    expect(errorOf(await chat(gateway.app, 'main/echo'), 503).code).toBe('no_target_available')

    const on = await gateway.admin('POST', '/admin/providers/main/enable')
    expect(on.json()).toMatchObject({ enabled: true, runtime_override: null })
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-provider']).toBe('main')
    expect((await chat(gateway.app, 'solo')).statusCode).toBe(200)
  })

  it('starts a provider the file leaves off, without touching calls on the others', async () => {
    const gateway = await buildFileApp(config)
    expect(errorOf(await chat(gateway.app, 'later'), 404).code).toBe('model_not_found')
    const on = await gateway.admin('POST', '/admin/providers/spare/enable')
    expect(on.statusCode, on.body).toBe(200)
    expect(on.json()).toMatchObject({
      name: 'spare',
      enabled: true,
      configured_enabled: false,
      runtime_override: 'enabled',
      targets: [{ id: 'spare/echo', healthy: true }],
    })
    expect((await chat(gateway.app, 'later')).headers['x-anygate-provider']).toBe('spare')
    expect((await gateway.admin('GET', '/admin/config')).json().generation).toBe(2)

    // Off again: skipped like any disabled provider.
    const off = await gateway.admin('POST', '/admin/providers/spare/disable')
    expect(off.json()).toMatchObject({ enabled: false, runtime_override: null })
    expect(errorOf(await chat(gateway.app, 'later'), 503).message).toContain('provider disabled')
  })

  it('lasts until the next reload', async () => {
    const gateway = await buildFileApp(config)
    await gateway.admin('POST', '/admin/providers/main/disable')
    expect((await chat(gateway.app, 'solo')).statusCode).toBe(503)
    expect((await gateway.reload()).statusCode).toBe(200)
    const { providers } = (await gateway.admin('GET', '/admin/providers')).json()
    expect(providers[0]).toMatchObject({ name: 'main', enabled: true, runtime_override: null })
    expect((await chat(gateway.app, 'solo')).statusCode).toBe(200)
  })

  it('answers 404 for a provider the config does not name, and needs the master key', async () => {
    const gateway = await buildFileApp(config)
    const error = errorOf(await gateway.admin('POST', '/admin/providers/ghost/disable'), 404)
    expect(error.code).toBe('provider_not_found')
    expect(error.message).toContain('configured: main, backup, spare')
    const anonymous = await gateway.app.inject({ method: 'POST', url: '/admin/providers/main/disable' })
    expect(anonymous.statusCode).toBe(401)
    expect((await chat(gateway.app, 'solo')).statusCode).toBe(200)
  })

  it('logs each switch and each admin request with the acting key id', async () => {
    const gateway = await buildFileApp(config)
    await gateway.admin('POST', '/admin/providers/backup/disable')
    await gateway.app.inject({ method: 'GET', url: '/admin/providers' })
    expect(linesWith(gateway.logs, 'provider switched')).toEqual([
      expect.objectContaining({ provider: 'backup', state: 'disabled', actor: 'master' }),
    ])
    expect(linesWith(gateway.logs, 'admin action')).toEqual([
      expect.objectContaining({
        method: 'POST',
        route: '/admin/providers/:name/disable',
        status: 200,
        actor: 'master',
      }),
      expect.objectContaining({ method: 'GET', route: '/admin/providers', status: 401, actor: null }),
    ])
    expect(gateway.rawLogs.join('')).not.toContain('sk-master-reload')
  })
})
