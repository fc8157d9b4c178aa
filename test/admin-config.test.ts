// GET /admin/config: the effective config, with no secret left in it, from a config full of them.
import { describe, expect, it } from 'vitest'
import { redactConfig } from '../plugins/runtime/redact.js'
import { buildTestApp } from './helpers/app.js'
import { bearer, buildFileApp, errorOf, master } from './reload-helpers.js'

const secrets = {
  openai: 'sk-proj-openai0123456789',
  anthropic: 'anthropic-plain-secret-1',
  azure: 'azure-key-in-header-2',
  bearer: 'upstream-bearer-token-3',
  custom: 'custom-auth-value-4',
  queryKey: 'AIzaSyQueryKey0123456789abcdef',
  urlPassword: 'url-password-5',
  redisPassword: 'redis-password-6',
  configKey: 'cfg-virtual-key-secret-0123',
  clientSecret: 'options-client-secret-7',
  nestedToken: 'nested-options-token-8',
  alertHeader: 'alert-receiver-value-9',
  alertToken: 'alert-query-token-10',
  telemetry: 'otlp-collector-value-11',
  copied: 'copied-into-a-path-12',
}

const fullOfSecrets = {
  auth: { master_key: master, keys: [{ name: 'ci', key: secrets.configKey, models: ['echo'] }] },
  store: { type: 'memory', url: `redis://default:${secrets.redisPassword}@127.0.0.1:6379/0` },
  budgets: {
    alert_webhook: `https://hooks.example/budget?token=${secrets.alertToken}&team=ops`,
    alert_headers: { 'x-team': secrets.alertHeader },
  },
  // No otlp_endpoint: tracing stays off, its headers are config all the same.
  telemetry: { headers: { 'x-honeycomb-team': secrets.telemetry } },
  providers: {
    mock: { type: 'mock' },
    openai: { type: 'openai', enabled: false, api_key: secrets.openai },
    claude: {
      type: 'anthropic',
      enabled: false,
      api_key: secrets.anthropic,
      headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' },
    },
    azure: {
      type: 'azure',
      enabled: false,
      base_url: `https://proxy-user:${secrets.urlPassword}@res.openai.azure.com`,
      headers: {
        'api-key': secrets.azure,
        authorization: `Bearer ${secrets.bearer}`,
        'x-custom-auth': secrets.custom,
        'x-request-source': 'gateway',
      },
    },
    gemini: {
      type: 'gemini',
      enabled: false,
      base_url: `https://gemini.example/${secrets.copied}/v1?key=${secrets.queryKey}`,
      options: { client_secret: secrets.clientSecret, nested: { token: secrets.nestedToken, region: 'eu' } },
    },
    copy: { type: 'openai', enabled: false, api_key: secrets.copied },
  },
  models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
}

describe('GET /admin/config', () => {
  it('shows the effective config with every secret redacted', async () => {
    const gateway = await buildFileApp(fullOfSecrets)
    const res = await gateway.admin('GET', '/admin/config')
    expect(res.statusCode, res.body).toBe(200)
    for (const [name, secret] of Object.entries({ ...secrets, master })) {
      expect(res.body, `${name} leaked`).not.toContain(secret)
    }
    const body = res.json()
    expect(body).toMatchObject({ object: 'config', path: gateway.path, generation: 1 })
    expect(new Date(body.loaded_at).getTime()).toBeGreaterThan(0)
    const { config } = body
    expect(config.auth.master_key).toBe('[redacted]')
    expect(config.auth.keys[0]).toMatchObject({ name: 'ci', key: '[redacted]', models: ['echo'] })
    expect(config.store.url).toBe('redis://[redacted]@127.0.0.1:6379/0')
    expect(config.budgets.alert_webhook).toBe('https://hooks.example/budget?token=[redacted]&team=ops')
    expect(config.budgets.alert_headers).toEqual({ 'x-team': '[redacted]' })
    expect(config.telemetry.headers).toEqual({ 'x-honeycomb-team': '[redacted]' })
    const byName = Object.fromEntries(config.providers.map((p: { name: string }) => [p.name, p]))
    expect(byName.openai.api_key).toBe('[redacted]')
    expect(byName.claude.headers).toEqual({ 'anthropic-beta': 'prompt-caching-2024-07-31' })
    expect(byName.azure.headers).toEqual({
      'api-key': '[redacted]',
      authorization: '[redacted]',
      'x-custom-auth': '[redacted]',
      'x-request-source': 'gateway',
    })
    expect(byName.azure.base_url).toBe('https://[redacted]@res.openai.azure.com')
    expect(byName.gemini.base_url).toBe('https://gemini.example/[redacted]/v1?key=[redacted]')
    expect(byName.gemini.options).toEqual({
      client_secret: '[redacted]',
      nested: { token: '[redacted]', region: 'eu' },
    })
    // Defaults are applied, and what is not secret is shown as is.
    expect(config.server.port).toBe(8080)
    expect(config.routing.strategy).toBe('weighted')
    expect(config.baseDir).toBeUndefined()
    expect(gateway.rawLogs.join('')).not.toContain(secrets.configKey)
  })

  it('shows an empty secret as empty, and null as the path of an in-memory config', async () => {
    const { app } = await buildTestApp({
      auth: { master_key: master },
      providers: { mock: { type: 'mock' }, openai: { type: 'openai', enabled: 'auto', api_key: '' } },
    })
    const res = await app.inject({ method: 'GET', url: '/admin/config', headers: bearer })
    expect(res.json().path).toBeNull()
    expect(res.json().config.providers[1]).toMatchObject({ name: 'openai', api_key: '', enabled: false })
  })

  it('needs the master key', async () => {
    const gateway = await buildFileApp(fullOfSecrets)
    expect(errorOf(await gateway.app.inject({ method: 'GET', url: '/admin/config' }), 401).code).toBe(
      'invalid_api_key',
    )
    const virtual = await gateway.app.inject({
      method: 'GET',
      url: '/admin/config',
      headers: { authorization: `Bearer ${secrets.configKey}` },
    })
    expect(virtual.statusCode).toBe(403)
  })
})

describe('redactConfig', () => {
  it('leaves the original untouched and keeps what is not secret', () => {
    const original = {
      providers: [{ name: 'a', api_key: 'sk-abcdefghijkl', base_url: 'https://a.example/v1' }],
    }
    const copy = structuredClone(original)
    expect(redactConfig(original)).toEqual({
      providers: [{ name: 'a', api_key: '[redacted]', base_url: 'https://a.example/v1' }],
    })
    expect(original).toEqual(copy)
  })

  it('hides values shaped like a key wherever they are, and every copy of a secret', () => {
    expect(
      redactConfig({
        note: 'Bearer abc.def',
        options: { model_hint: 'sk-live-0123456789abcdef', label: 'plain' },
        auth: { master_key: 'm-secret-value' },
        description: 'the key m-secret-value was pasted here',
      }),
    ).toEqual({
      note: '[redacted]',
      options: { model_hint: '[redacted]', label: 'plain' },
      auth: { master_key: '[redacted]' },
      description: 'the key [redacted] was pasted here',
    })
  })
})
