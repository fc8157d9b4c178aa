// Virtual keys on /v1: when a key is needed, the 401 variants (never echoing the key), config
// keys without a master key, the open default, and model access by glob (403, and GET /v1/models
// listing only what the key may use).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody } from './helpers/app.js'

const master = 'sk-master-0123456789abcdef'
const configKey = 'cfg-secret-ci-0123456789abcd'

const config = {
  auth: { master_key: master },
  providers: { mock: { type: 'mock', models: ['fix*'] } },
  models: [
    { name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] },
    { name: 'fast', targets: [{ provider: 'mock', model: 'fixed' }] },
  ],
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

function errorOf(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status)
  return res.json().error as { message: string; type: string; param: string | null; code: string | null }
}

async function createKey(
  app: FastifyInstance,
  body: Record<string, unknown>,
): Promise<{ id: string; key: string }> {
  const res = await app.inject({ method: 'POST', url: '/admin/keys', headers: bearer(master), payload: body })
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

const chat = (app: FastifyInstance, key: string | undefined, model: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: key === undefined ? {} : bearer(key),
    payload: chatBody(model),
  })

describe('virtual keys on /v1', () => {
  it('refuses missing, unknown, disabled, expired and deleted keys with 401, never echoing them', async () => {
    const { app, rawLogs } = await buildTestApp(config)
    const { id, key } = await createKey(app, { name: 'alice' })
    expect((await chat(app, key, 'echo')).statusCode).toBe(200)
    const guess = 'sk-ag-wrong-guess-0000000000000000000000000000'

    expect(errorOf(await chat(app, undefined, 'echo'), 401).code).toBe('invalid_api_key')
    expect(errorOf(await chat(app, guess, 'echo'), 401).code).toBe('invalid_api_key')
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Basic ${key}` },
      payload: chatBody('echo'),
    })
    expect(errorOf(malformed, 401).code).toBe('invalid_api_key')

    const patch = (body: object) =>
      app.inject({ method: 'PATCH', url: `/admin/keys/${id}`, headers: bearer(master), payload: body })
    await patch({ disabled: true })
    const disabled = errorOf(await chat(app, key, 'echo'), 401)
    expect(disabled).toMatchObject({ code: 'disabled_api_key', type: 'invalid_request_error' })
    expect(disabled.message).toContain('"alice"')
    await patch({ disabled: false, expires_at: '2001-01-01T00:00:00Z' })
    const expired = errorOf(await chat(app, key, 'echo'), 401)
    expect(expired.code).toBe('expired_api_key')
    expect(expired.message).toContain('2001-01-01T00:00:00.000Z')
    await patch({ expires_at: null })
    expect((await chat(app, key, 'echo')).statusCode).toBe(200)
    await app.inject({ method: 'DELETE', url: `/admin/keys/${id}`, headers: bearer(master) })
    const deleted = await chat(app, key, 'echo')
    expect(errorOf(deleted, 401).code).toBe('invalid_api_key')

    const everything = rawLogs.join('') + deleted.body + malformed.body
    for (const secret of [key, guess, master]) expect(everything).not.toContain(secret)
  })

  it('accepts a virtual key as x-api-key on /v1/messages, refusing a bad one in the Anthropic shape', async () => {
    const { app } = await buildTestApp(config)
    const { key } = await createKey(app, { name: 'claude code' })
    const message = (apiKey: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { 'x-api-key': apiKey },
        payload: { model: 'echo', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      })
    expect((await message(key)).statusCode).toBe(200)
    const refused = await message(`${key}x`)
    expect(refused.statusCode).toBe(401)
    expect(refused.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
  })

  it('config keys work without a master key, and then /v1 needs a key', async () => {
    const { app } = await buildTestApp({ ...config, auth: { keys: [{ name: 'ci', key: configKey }] } })
    expect((await chat(app, configKey, 'echo')).statusCode).toBe(200)
    expect(errorOf(await chat(app, undefined, 'echo'), 401).code).toBe('invalid_api_key')
    expect(errorOf(await chat(app, master, 'echo'), 401).code).toBe('invalid_api_key')
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
  })

  it('stays open with no master key and no keys: any or no key is the anonymous caller', async () => {
    const { app } = await buildTestApp({ ...config, auth: { master_key: '' } })
    expect((await chat(app, undefined, 'echo')).statusCode).toBe(200)
    expect((await chat(app, 'whatever-the-sdk-sends', 'fast')).statusCode).toBe(200)
  })

  it('refuses a config key equal to the master key at startup', async () => {
    await expect(
      buildTestApp({ ...config, auth: { master_key: configKey, keys: [{ name: 'ci', key: configKey }] } }),
    ).rejects.toThrow(/auth\.keys\[0\]\.key: equals auth\.master_key/)
  })
})

describe('model access', () => {
  it('answers 403 model_not_allowed naming the model and the key, on every inference route', async () => {
    const { app } = await buildTestApp(config)
    const { key } = await createKey(app, { name: 'echo only', models: ['echo', 'mock/e*'] })
    expect((await chat(app, key, 'echo')).statusCode).toBe(200)
    expect((await chat(app, key, 'mock/echo')).statusCode).toBe(200)

    const refused = errorOf(await chat(app, key, 'fast'), 403)
    expect(refused).toEqual({
      type: 'permission_error',
      code: 'model_not_allowed',
      param: 'model',
      message: expect.stringContaining('`fast`'),
    })
    expect(refused.message).toContain('"echo only"')

    const embeddings = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: bearer(key),
      payload: { model: 'mock/fixed', input: 'hi' },
    })
    expect(errorOf(embeddings, 403).code).toBe('model_not_allowed')
    expect((await app.inject({ ...embeddingsTo('mock/embed'), headers: bearer(key) })).statusCode).toBe(200)

    const messages = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': key },
      payload: { model: 'fast', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(messages.statusCode).toBe(403)
    expect(messages.json()).toMatchObject({
      type: 'error',
      error: { type: 'permission_error', code: 'model_not_allowed' },
    })
  })

  it('grants public models by name, and <provider>/* also to bare names served by that provider', async () => {
    const { app } = await buildTestApp(config)
    const { key } = await createKey(app, { name: 'mock direct', models: ['mock/*'] })
    expect((await chat(app, key, 'mock/fixed')).statusCode).toBe(200)
    expect((await chat(app, key, 'fixed')).statusCode).toBe(200) // bare name -> mock/fixed
    expect(errorOf(await chat(app, key, 'fast'), 403).code).toBe('model_not_allowed') // public, served by mock
    // An unknown model is still the route's own 404, not a 403 that would confirm nothing.
    expect(errorOf(await chat(app, key, 'nope'), 404).code).toBe('model_not_found')
  })

  it('lets an empty list use nothing, and the master key and unrestricted keys use everything', async () => {
    const { app } = await buildTestApp(config)
    const none = (await createKey(app, { name: 'none', models: [] })).key
    const all = (await createKey(app, { name: 'all' })).key
    for (const model of ['echo', 'fast', 'mock/echo']) {
      expect(errorOf(await chat(app, none, model), 403).code).toBe('model_not_allowed')
      expect((await chat(app, all, model)).statusCode).toBe(200)
      expect((await chat(app, master, model)).statusCode).toBe(200)
    }
  })

  it('GET /v1/models lists only the models the key may use, and hides the others by id', async () => {
    const { app } = await buildTestApp(config)
    const { key } = await createKey(app, { name: 'fast only', models: ['fast', 'mock/fix*'] })
    const list = (k: string) =>
      app.inject({ method: 'GET', url: '/v1/models', headers: bearer(k) }).then((r) => r.json())
    const ids = (await list(key)).data.map((m: { id: string }) => m.id)
    expect(ids).toEqual(['fast', 'mock/fixed'])
    const everything = (await list(master)).data.map((m: { id: string }) => m.id)
    expect(everything).toEqual(expect.arrayContaining(['echo', 'fast', 'mock/echo', 'mock/fixed']))
    expect(everything.length).toBeGreaterThan(ids.length)

    const get = (id: string) => app.inject({ method: 'GET', url: `/v1/models/${id}`, headers: bearer(key) })
    expect((await get('fast')).statusCode).toBe(200)
    expect((await get('mock/fixed')).statusCode).toBe(200)
    expect(errorOf(await get('echo'), 404).code).toBe('model_not_found')
    expect(errorOf(await get('mock%2Fecho'), 404).code).toBe('model_not_found')
  })
})

function embeddingsTo(model: string) {
  return { method: 'POST' as const, url: '/v1/embeddings', payload: { model, input: 'hi' } }
}
