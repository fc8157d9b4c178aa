// POST /admin/reload: a valid file serves new calls at once, an invalid one changes nothing and names
// every problem, and what a reload cannot apply is reported, not ignored.
import { describe, expect, it, onTestFinished } from 'vitest'
import { buildTestApp, parseSse } from './helpers/app.js'
import { connectTestRedis, deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js'
import { bearer, buildFileApp, chat, errorOf, linesWith, withMaster } from './reload-helpers.js'

const mapping = (upstream: string, extra: Record<string, unknown> = {}) =>
  withMaster({
    providers: { mock: { type: 'mock' } },
    models: [{ name: 'chat', targets: [{ provider: 'mock', model: upstream }] }],
    ...extra,
  })

describe('POST /admin/reload', () => {
  it('serves new calls with the new file and reports what changed', async () => {
    const gateway = await buildFileApp(mapping('echo'))
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-model']).toBe('echo')

    gateway.write(
      withMaster({
        providers: { mock: { type: 'mock' }, spare: { type: 'mock' } },
        models: [
          { name: 'chat', targets: [{ provider: 'mock', model: 'fixed' }] },
          { name: 'extra', targets: [{ provider: 'spare', model: 'echo' }] },
        ],
        routing: { retries: 0 },
      }),
    )
    const res = await gateway.reload()
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({
      reloaded: true,
      generation: 2,
      changes: {
        providers: { added: ['spare'], removed: [], changed: [] },
        models: { added: ['extra'], removed: [], changed: ['chat'] },
        settings: ['routing.retries'],
      },
      restart_required: [],
    })
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-model']).toBe('fixed')
    expect((await chat(gateway.app, 'extra')).headers['x-anygate-provider']).toBe('spare')
    expect(linesWith(gateway.logs, 'config reloaded')).toEqual([
      expect.objectContaining({ trigger: 'api', generation: 2, restart_required: [] }),
    ])
    expect(linesWith(gateway.logs, 'previous runtime closed')).toEqual([
      expect.objectContaining({ generation: 1, forced: false }),
    ])
  })

  it('keeps the running config on an invalid file and names every problem', async () => {
    const gateway = await buildFileApp(mapping('echo'))
    gateway.write({
      auth: { master_key: 'sk-master-reload-0123456789abcdef' },
      server: { port: 'eighty' },
      providers: { mock: { type: 'mock' }, openai: { type: 'openai', base_url: 'not a url' } },
      models: [{ name: 'chat', targets: [{ provider: 'ghost', model: 'fixed' }] }],
    })
    const error = errorOf(await gateway.reload(), 422)
    expect(error.code).toBe('invalid_config')
    expect(error.message).toContain(gateway.path)
    expect(error.message).toContain('the running config is kept')
    expect(error.message).toContain('server.port')
    expect(error.message).toContain('providers.openai.base_url: must be a URL')

    // Cross-reference problems come once the types are right; each is named too.
    gateway.write(
      withMaster({
        providers: { mock: { type: 'mock' } },
        models: [
          { name: 'chat', targets: [{ provider: 'ghost', model: 'fixed' }] },
          { name: 'chat', targets: [{ provider: 'mock', model: 'fixed' }], fallbacks: ['nowhere'] },
        ],
      }),
    )
    const cross = errorOf(await gateway.reload(), 422).message
    expect(cross).toContain('models[0].targets[0].provider: no provider named "ghost"')
    expect(cross).toContain('models[1].name: "chat" is defined twice')
    expect(cross).toContain('models[1].fallbacks[0]: no model named "nowhere"')

    gateway.write('providers: [unclosed')
    expect(errorOf(await gateway.reload(), 422).message).toContain('not valid YAML')

    expect((await chat(gateway.app, 'chat')).headers['x-anygate-model']).toBe('echo')
    expect((await gateway.admin('GET', '/admin/config')).json().generation).toBe(1)
    expect(linesWith(gateway.logs, 'config reload refused: the running config is kept')).toHaveLength(3)
  })

  it('keeps the running config when the new providers cannot start', async () => {
    const gateway = await buildFileApp(mapping('echo'))
    gateway.write(
      withMaster({
        providers: { mock: { type: 'mock' }, odd: { plugin: './does-not-exist.mjs' } },
        models: [{ name: 'chat', targets: [{ provider: 'mock', model: 'fixed' }] }],
      }),
    )
    const error = errorOf(await gateway.reload(), 422)
    expect(error.code).toBe('reload_failed')
    expect(error.message).toContain('cannot load provider plugin "./does-not-exist.mjs"')
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-model']).toBe('echo')
  })

  it('reports what only a restart applies and keeps its running value', async () => {
    const gateway = await buildFileApp(mapping('echo', { server: { port: 8080 } }))
    gateway.write(
      mapping('fixed', {
        auth: {
          master_key: 'sk-master-reload-0123456789abcdef',
          keys: [{ name: 'ci', key: 'k'.repeat(24) }],
        },
        server: { port: 9090, body_limit_bytes: 4096 },
        store: { key_prefix: 'other:' },
        limits: { global_rpm: 5 },
      }),
    )
    const res = await gateway.reload()
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().restart_required.sort()).toEqual([
      'auth.keys',
      'limits.global_rpm',
      'server.body_limit_bytes',
      'server.port',
      'store.key_prefix',
    ])
    const { config } = (await gateway.admin('GET', '/admin/config')).json()
    expect(config.server.port).toBe(8080)
    expect(config.store.key_prefix).toBe('anygate:')
    expect(config.auth.keys).toEqual([])
    expect(config.models[0].targets[0].model).toBe('fixed')
  })

  it('reports a per-model cache a cache-less startup cannot serve', async () => {
    const gateway = await buildFileApp(mapping('echo'))
    gateway.write(
      withMaster({
        providers: { mock: { type: 'mock' } },
        models: [{ name: 'chat', targets: [{ provider: 'mock', model: 'echo' }], cache: { enabled: true } }],
      }),
    )
    expect((await gateway.reload()).json().restart_required).toEqual(['models[].cache'])
  })

  it('applies a changed per-model cache when the cache is on', async () => {
    const cached = (enabled: boolean) =>
      withMaster({
        providers: { mock: { type: 'mock' } },
        models: [
          { name: 'chat', targets: [{ provider: 'mock', model: 'echo' }], cache: { enabled } },
          { name: 'other', targets: [{ provider: 'mock', model: 'echo' }], cache: { enabled: true } },
        ],
      })
    const gateway = await buildFileApp(cached(false))
    const ask = () => chat(gateway.app, 'chat', { temperature: 0 })
    expect((await ask()).headers['x-anygate-cache']).toBe('BYPASS')
    gateway.write(cached(true))
    expect((await gateway.reload()).json().restart_required).toEqual([])
    expect((await ask()).headers['x-anygate-cache']).toBe('MISS')
    expect((await ask()).headers['x-anygate-cache']).toBe('HIT')
  })

  it('prices calls with the reloaded target prices', async () => {
    const priced = (input_per_mtok: number) =>
      withMaster({
        providers: { mock: { type: 'mock' } },
        models: [
          {
            name: 'chat',
            targets: [{ provider: 'mock', model: 'echo', price: { input_per_mtok, output_per_mtok: 0 } }],
          },
        ],
      })
    const gateway = await buildFileApp(priced(1_000_000))
    const first = (await chat(gateway.app, 'chat')).json().usage.prompt_tokens as number
    gateway.write(priced(3_000_000))
    expect((await gateway.reload()).statusCode).toBe(200)
    const second = (await chat(gateway.app, 'chat')).json().usage.prompt_tokens as number
    await gateway.app.spend.flush()
    const report = (await gateway.admin('GET', '/admin/spend?group_by=model')).json()
    const row = report.data.find((r: { group: string }) => r.group === 'chat')
    expect(row.cost_usd).toBeCloseTo(first * 1 + second * 3, 6)
    expect(gateway.app.pricing).toBe(gateway.app.runtime.current.pricing)
  })

  it.each([
    { store: 'memory', redis: false },
    { store: 'redis', redis: true },
  ])('keeps the breaker of a target that is still configured ($store store)', async ({ redis }) => {
    let store: Record<string, unknown> = {}
    if (redis) {
      const client = await connectTestRedis()
      if (!client) return
      const prefix = uniquePrefix('reload-breaker')
      onTestFinished(async () => {
        await deleteKeys(client, prefix)
        client.disconnect()
      })
      store = { store: { type: 'redis', url: testRedisUrl, key_prefix: prefix } }
    }
    const failing = (extra: Record<string, unknown>) =>
      mapping('error-500', {
        routing: { retries: 0, circuit_breaker: { consecutive_failures: 1, cooldown_s: 600 } },
        ...store,
        ...extra,
      })
    const gateway = await buildFileApp(failing({}))
    expect((await chat(gateway.app, 'chat')).statusCode).toBe(502)
    gateway.write(failing({ pricing: { models: { 'mock/*': { input: 1, output: 1 } } } }))
    expect((await gateway.reload()).json().changes.settings).toEqual(['pricing.models.mock/*'])
    const providers = (await gateway.admin('GET', '/admin/providers')).json().providers
    expect(providers[0].targets[0]).toMatchObject({ id: 'mock/error-500', circuit: 'open', healthy: false })
    const refused = errorOf(await chat(gateway.app, 'chat'), 503)
    expect(refused.code).toBe('no_target_available')
  })

  it('cuts the calls still on the old config after server.shutdown_timeout_ms', async () => {
    const quick = (upstream: string) => mapping(upstream, { server: { shutdown_timeout_ms: 300 } })
    const gateway = await buildFileApp(quick('echo'))
    const slow = (headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
      gateway.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { ...bearer, ...headers },
        payload: {
          model: 'chat',
          messages: [{ role: 'user', content: 'one two three four five six' }],
          ...extra,
        },
      })
    const json = slow({ 'x-mock-latency-ms': '20000' })
    const stream = slow({ 'x-mock-chunk-delay-ms': '20000' }, { stream: true })
    await expect.poll(() => gateway.app.runtime.holds()).toBe(2)
    gateway.write(quick('fixed'))
    expect((await gateway.reload()).statusCode).toBe(200)
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-model']).toBe('fixed')

    expect(errorOf(await json, 503).code).toBe('reload_drain_timeout')
    const events = parseSse((await stream).body) as { error?: { code: string } }[]
    expect(events.at(-1)?.error?.code).toBe('reload_drain_timeout')
    await expect
      .poll(() => linesWith(gateway.logs, 'previous runtime closed at the drain timeout'))
      .toEqual([expect.objectContaining({ generation: 1, forced: true, calls_cut: 2 })])
    expect(gateway.app.runtime.draining).toBe(0)
  })

  it('runs concurrent reloads one after the other', async () => {
    const gateway = await buildFileApp(mapping('echo'))
    gateway.write(mapping('fixed'))
    const answers = await Promise.all([gateway.reload(), gateway.reload(), gateway.reload()])
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200])
    expect(answers.map((r) => r.json().generation).sort()).toEqual([2, 3, 4])
    expect((await gateway.admin('GET', '/admin/config')).json().generation).toBe(4)
    await expect.poll(() => linesWith(gateway.logs, 'previous runtime closed').length).toBe(3)
  })

  it('answers 409 for an app built without a config file, and 401 without the master key', async () => {
    const { app } = await buildTestApp(mapping('echo'))
    expect(
      errorOf(await app.inject({ method: 'POST', url: '/admin/reload', headers: bearer }), 409).code,
    ).toBe('reload_unavailable')
    expect((await app.inject({ method: 'POST', url: '/admin/reload' })).statusCode).toBe(401)
  })
})

describe('enabling and disabling a provider in the file', () => {
  const twoProviders = (backupEnabled: boolean) =>
    withMaster({
      providers: { mock: { type: 'mock' }, backup: { type: 'mock', enabled: backupEnabled } },
      models: [
        {
          name: 'chat',
          strategy: 'priority',
          targets: [
            { provider: 'backup', model: 'fixed', priority: 0 },
            { provider: 'mock', model: 'echo', priority: 1 },
          ],
        },
      ],
    })

  it('unregisters its targets and models on reload, and registers them again', async () => {
    const gateway = await buildFileApp(twoProviders(true))
    const listed = async () =>
      (await gateway.app.inject({ method: 'GET', url: '/v1/models', headers: bearer }))
        .json()
        .data.map((m: { id: string }) => m.id)
    expect(await listed()).toContain('backup/fixed')
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-provider']).toBe('backup')

    gateway.write(twoProviders(false))
    expect((await gateway.reload()).json().changes.providers.changed).toEqual(['backup'])
    expect(await listed()).not.toContain('backup/fixed')
    expect(await listed()).toContain('mock/fixed')
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-provider']).toBe('mock')
    expect(errorOf(await chat(gateway.app, 'backup/fixed'), 404).code).toBe('model_not_found')
    expect(gateway.app.providers.names()).toEqual(['mock'])

    gateway.write(twoProviders(true))
    expect((await gateway.reload()).statusCode).toBe(200)
    expect(await listed()).toContain('backup/fixed')
    expect((await chat(gateway.app, 'chat')).headers['x-anygate-provider']).toBe('backup')
  })
})
