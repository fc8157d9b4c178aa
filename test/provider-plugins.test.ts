import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { buildTestApp, chatBody, parseSse, testConfig } from './helpers/app.js'
import { completionBody, sendJson, startFakeUpstream, streamAnswer } from './helpers/fake-upstream.js'

const fixture = join(import.meta.dirname, 'fixtures', 'plugins', 'shouting-provider.mjs')

describe('provider plugins', () => {
  it('loads a third-party provider plugin by path and serves it like a built-in', async () => {
    const { app } = await buildTestApp({
      providers: { loud: { plugin: fixture, options: { prefix: '>> ' } } },
      models: [{ name: 'shout', targets: [{ provider: 'loud', model: 'loud' }] }],
    })
    const plain = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('shout', 'hello'),
    })
    expect(plain.json().choices[0].message.content).toBe('>> HELLO')
    expect(plain.headers['x-anygate-provider']).toBe('loud')
    const streamed = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('loud/loud', 'hey', { stream: true }),
    })
    expect(parseSse(streamed.body)).toHaveLength(3)
    const models = (await app.inject({ method: 'GET', url: '/v1/models' }))
      .json()
      .data.map((m: { id: string }) => m.id)
    expect(models).toEqual(['shout', 'loud/loud'])
  })

  it('refuses to start with a plugin that cannot be loaded, naming it', async () => {
    const config = testConfig({ providers: { bad: { plugin: './does-not-exist.mjs' } } })
    await expect(buildApp(config, { logger: false })).rejects.toThrow(
      /cannot load provider plugin "\.\/does-not-exist\.mjs"/,
    )
  })

  it('does not register a provider whose enabled is false', async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' }, off: { type: 'mock', enabled: false } },
      models: [{ name: 'offline', targets: [{ provider: 'off', model: 'echo' }] }],
    })
    expect(app.providers.names()).toEqual(['mock'])
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('offline'),
    })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.message).toContain('none of its providers (off) is enabled')
    expect(
      (await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('off/echo') }))
        .statusCode,
    ).toBe(404)
  })

  it('ollama speaks the OpenAI protocol at its base_url and sends no key', async () => {
    const upstream = await startFakeUpstream((req, res) =>
      (req.body as { stream?: boolean }).stream
        ? streamAnswer(res)
        : sendJson(res, 200, completionBody('local')),
    )
    const { app } = await buildTestApp({
      providers: { ollama: { type: 'ollama', base_url: upstream.url, models: ['llama*'] } },
    })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('llama3.2'),
    })
    expect(res.json().choices[0].message.content).toBe('local')
    expect(upstream.requests[0]?.url).toBe('/v1/chat/completions')
    expect(upstream.requests[0]?.headers.authorization).toBeUndefined()
    const streamed = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('ollama/llama3.2', 'x', { stream: true }),
    })
    expect(parseSse(streamed.body).at(-1)).toBe('[DONE]')
  })

  it('sends the operator headers from config on every upstream call', async () => {
    const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, completionBody('ok')))
    const { app } = await buildTestApp({
      providers: { up: { type: 'openai', base_url: upstream.url, headers: { 'x-org': 'platform' } } },
    })
    await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('up/m') })
    expect(upstream.requests[0]?.headers['x-org']).toBe('platform')
  })
})

describe('model resolution', () => {
  const config = {
    providers: {
      first: { type: 'mock', models: ['shared-*', 'exact-one'] },
      second: { type: 'mock', models: ['shared-*', 'other-*'] },
    },
    models: [{ name: 'public', targets: [{ provider: 'second', model: 'fixed' }] }],
  }
  it.each([
    ['public', 'second', 'fixed'],
    ['second/echo', 'second', 'echo'],
    ['first/anything/with/slashes', 'first', 'anything/with/slashes'],
    ['exact-one', 'first', 'exact-one'],
    ['shared-model', 'first', 'shared-model'],
    ['other-model', 'second', 'other-model'],
  ])('%s goes to %s as %s', async (model, provider, upstreamModel) => {
    const { app } = await buildTestApp(config)
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody(model) })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe(provider)
    expect(res.headers['x-anygate-model']).toBe(upstreamModel)
  })

  it('retrieves public, listed and reachable models, and 404s the rest', async () => {
    const { app } = await buildTestApp(config)
    expect((await app.inject({ method: 'GET', url: '/v1/models/public' })).json()).toMatchObject({
      id: 'public',
      owned_by: 'second',
    })
    expect((await app.inject({ method: 'GET', url: '/v1/models/first%2Fecho' })).json().id).toBe('first/echo')
    expect((await app.inject({ method: 'GET', url: '/v1/models/second/tools' })).json().id).toBe(
      'second/tools',
    )
    expect((await app.inject({ method: 'GET', url: '/v1/models/shared-x' })).json().owned_by).toBe('first')
    const missing = await app.inject({ method: 'GET', url: '/v1/models/nope' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.code).toBe('model_not_found')
  })
})
