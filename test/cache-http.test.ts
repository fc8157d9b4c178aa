// The response cache through the gateway: JSON answers and embeddings from a real loopback upstream
// that counts its calls, the control headers, per-caller namespaces and DELETE /admin/cache.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildTestApp } from './helpers/app.js'
import { startCountingUpstream } from './helpers/counting-upstream.js'
import { completionBody, type FakeUpstream, sendJson, startFakeUpstream } from './helpers/fake-upstream.js'

const upstreamKey = 'sk-upstream-secret-cache'

function cacheConfig(upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return {
    providers: { up: { type: 'openai', base_url: upstream.url, api_key: upstreamKey } },
    models: [
      { name: 'fast', targets: [{ provider: 'up', model: 'gpt-test' }] },
      { name: 'fresh', targets: [{ provider: 'up', model: 'gpt-test' }], cache: { enabled: false } },
      { name: 'brief', targets: [{ provider: 'up', model: 'gpt-test' }], cache: { ttl_seconds: 5 } },
    ],
    cache: { enabled: true },
    ...extra,
  }
}

const question = (extra: Record<string, unknown> = {}) => ({
  model: 'fast',
  temperature: 0,
  messages: [{ role: 'user', content: 'What is 2 + 2?' }],
  ...extra,
})

function chat(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/chat/completions', payload: body as object, headers })
}

const contentOf = (body: string) =>
  (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content

describe('the response cache on JSON answers', () => {
  it('answers a repeated request from the cache without calling the upstream', async () => {
    const upstream = await startCountingUpstream()
    const { app, logs, rawLogs } = await buildTestApp(cacheConfig(upstream))
    const first = await chat(app, question())
    expect(first.statusCode).toBe(200)
    expect(first.headers['x-anygate-cache']).toBe('MISS')
    const second = await chat(app, question())
    expect(second.statusCode).toBe(200)
    expect(second.headers['x-anygate-cache']).toBe('HIT')
    expect(second.headers['x-anygate-attempts']).toBe('0')
    expect(second.headers['x-anygate-provider']).toBe('up')
    expect(second.headers['x-anygate-model']).toBe('gpt-test')
    expect(second.headers['content-type']).toMatch(/^application\/json/)
    // The stored answer, byte for byte: same id, same content.
    expect(second.body).toBe(first.body)
    expect(contentOf(second.body)).toBe('answer #1')
    expect(upstream.requests).toHaveLength(1)
    // The call record is filled for a hit too, so logs, metrics and spend see what served it.
    const served = logs.filter((line) => line.msg === 'request completed')
    expect(served.at(-1)).toMatchObject({ provider: 'up', upstream_model: 'gpt-test', model: 'fast' })
    expect(rawLogs.join('')).not.toContain(upstreamKey)
  })

  it('hits whatever the field order and whitespace of the body', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    await chat(app, {
      model: 'fast',
      temperature: 0,
      messages: [{ role: 'user', content: 'order' }],
      response_format: { type: 'json_object' },
    })
    const reordered = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      payload: `{ "response_format" : {"type":"json_object"},\n  "messages":[ {"content":"order", "role":"user"} ],
        "temperature": 0,   "model":"fast" }`,
    })
    expect(reordered.headers['x-anygate-cache']).toBe('HIT')
    expect(upstream.requests).toHaveLength(1)
  })

  it('misses when anything that may change the answer differs', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(
      cacheConfig(upstream, { cache: { enabled: true, cache_nonzero_temperature: true } }),
    )
    await chat(app, question())
    const variants = [
      question({ temperature: 0.7 }),
      question({ seed: 7 }),
      question({ max_tokens: 5 }),
      question({ messages: [{ role: 'user', content: 'What is 2 + 3?' }] }),
      question({ model: 'up/gpt-test' }),
      question({ some_future_param: true }),
      question({ stream: true }),
    ]
    for (const body of variants) {
      const res = await chat(app, body)
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-anygate-cache']).toBe('MISS')
    }
    expect(upstream.requests).toHaveLength(1 + variants.length)
  })

  it('bypasses sampled requests unless cache_nonzero_temperature is set', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    for (const body of [question({ temperature: 0.5 }), question({ temperature: undefined })]) {
      expect((await chat(app, body)).headers['x-anygate-cache']).toBe('BYPASS')
      expect((await chat(app, body)).headers['x-anygate-cache']).toBe('BYPASS')
    }
    expect(upstream.requests).toHaveLength(4)

    const sampled = await buildTestApp(
      cacheConfig(upstream, { cache: { enabled: true, cache_nonzero_temperature: true } }),
    )
    await chat(sampled.app, question({ temperature: undefined }))
    expect((await chat(sampled.app, question({ temperature: undefined }))).headers['x-anygate-cache']).toBe(
      'HIT',
    )
  })

  it('follows the per-model switch both ways', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    await chat(app, question({ model: 'fresh' }))
    expect((await chat(app, question({ model: 'fresh' }))).headers['x-anygate-cache']).toBe('BYPASS')

    const onlyOne = await buildTestApp(
      cacheConfig(upstream, {
        cache: { enabled: false },
        models: [
          { name: 'fast', targets: [{ provider: 'up', model: 'gpt-test' }], cache: { enabled: true } },
        ],
      }),
    )
    await chat(onlyOne.app, question())
    expect((await chat(onlyOne.app, question())).headers['x-anygate-cache']).toBe('HIT')
    expect((await chat(onlyOne.app, question({ model: 'up/gpt-test' }))).headers['x-anygate-cache']).toBe(
      'BYPASS',
    )
  })

  it('adds no hooks and reports BYPASS when no model is cached', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream, { cache: { enabled: false } }))
    expect(app.responseCache).toBeNull()
    await chat(app, question())
    const res = await chat(app, question())
    expect(res.headers['x-anygate-cache']).toBe('BYPASS')
    expect(upstream.requests).toHaveLength(2)
  })

  it('never caches an upstream error', async () => {
    let failing = true
    const upstream = await startFakeUpstream((_req, res) => {
      if (failing) return sendJson(res, 400, { error: { message: 'bad', type: 'invalid_request_error' } })
      sendJson(res, 200, completionBody('fine'))
    })
    const { app } = await buildTestApp(cacheConfig(upstream))
    expect((await chat(app, question())).statusCode).toBe(400)
    failing = false
    const res = await chat(app, question())
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-cache']).toBe('MISS')
    expect(upstream.requests).toHaveLength(2)
  })

  it('caches embeddings', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    const embed = (input: unknown) =>
      app.inject({ method: 'POST', url: '/v1/embeddings', payload: { model: 'fast', input } })
    const first = await embed(['a', 'b'])
    expect(first.headers['x-anygate-cache']).toBe('MISS')
    const second = await embed(['a', 'b'])
    expect(second.headers['x-anygate-cache']).toBe('HIT')
    expect(second.json()).toEqual(first.json())
    expect((await embed(['b', 'a'])).headers['x-anygate-cache']).toBe('MISS')
    expect(upstream.requests).toHaveLength(2)
  })

  it('leaves /v1/messages alone', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    const ask = () =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        payload: {
          model: 'fast',
          max_tokens: 10,
          temperature: 0,
          messages: [{ role: 'user', content: 'hi' }],
        },
      })
    await ask()
    const res = await ask()
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-cache']).toBe('BYPASS')
    expect(upstream.requests).toHaveLength(2)
  })
})

describe('cache control headers', () => {
  it('no-cache skips the lookup but stores the fresh answer', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    await chat(app, question())
    const fresh = await chat(app, question(), { 'cache-control': 'no-cache' })
    expect(fresh.headers['x-anygate-cache']).toBe('MISS')
    expect(contentOf(fresh.body)).toBe('answer #2')
    const replayed = await chat(app, question())
    expect(replayed.headers['x-anygate-cache']).toBe('HIT')
    expect(contentOf(replayed.body)).toBe('answer #2')
  })

  it('no-store reads but never writes, and both together bypass the cache', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    expect((await chat(app, question(), { 'cache-control': 'no-store' })).headers['x-anygate-cache']).toBe(
      'MISS',
    )
    expect((await chat(app, question())).headers['x-anygate-cache']).toBe('MISS')
    expect((await chat(app, question(), { 'cache-control': 'No-Store' })).headers['x-anygate-cache']).toBe(
      'HIT',
    )
    const both = await chat(app, question(), { 'cache-control': 'no-cache, no-store' })
    expect(both.headers['x-anygate-cache']).toBe('BYPASS')
    expect(upstream.requests).toHaveLength(3)
  })

  it('x-anygate-cache-ttl: 0 stores nothing', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    await chat(app, question(), { 'x-anygate-cache-ttl': '0' })
    expect((await chat(app, question())).headers['x-anygate-cache']).toBe('MISS')
  })

  it('refuses a ttl that is not a whole number of seconds', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream))
    for (const ttl of ['ten', '-5', '1.5', '']) {
      const res = await chat(app, question(), { 'x-anygate-cache-ttl': ttl })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({
        error: {
          message: expect.stringContaining('x-anygate-cache-ttl'),
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_cache_ttl',
        },
      })
    }
    expect(upstream.requests).toHaveLength(0)
  })
})

describe('cache namespaces', () => {
  /** The app with a stand-in for the keys plugin: x-test-principal names the caller. */
  async function buildWithCallers(raw: Record<string, unknown>): Promise<FastifyInstance> {
    const setup = (app: FastifyInstance) =>
      app.addHook('onRequest', (request, _reply, done) => {
        const id = request.headers['x-test-principal']
        if (typeof id === 'string') request.principal = { kind: 'virtual', id, name: id }
        done()
      })
    return (await buildTestApp(raw, { setup })).app
  }

  it('keeps each caller apart unless cache.shared is true', async () => {
    const upstream = await startCountingUpstream()
    const app = await buildWithCallers(cacheConfig(upstream))
    await chat(app, question(), { 'x-test-principal': 'key_alice' })
    expect((await chat(app, question(), { 'x-test-principal': 'key_bob' })).headers['x-anygate-cache']).toBe(
      'MISS',
    )
    expect(
      (await chat(app, question(), { 'x-test-principal': 'key_alice' })).headers['x-anygate-cache'],
    ).toBe('HIT')

    const shared = await buildWithCallers(cacheConfig(upstream, { cache: { enabled: true, shared: true } }))
    await chat(shared, question(), { 'x-test-principal': 'key_alice' })
    expect(
      (await chat(shared, question(), { 'x-test-principal': 'key_bob' })).headers['x-anygate-cache'],
    ).toBe('HIT')
  })
})

describe('DELETE /admin/cache', () => {
  const masterKey = 'sk-master-cache-test'
  const auth = { authorization: `Bearer ${masterKey}` }

  it('deletes every answer, or one model’s, with the master key only', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(cacheConfig(upstream, { auth: { master_key: masterKey } }))
    const purge = (url: string, headers: Record<string, string> = auth) =>
      app.inject({ method: 'DELETE', url, headers })
    await chat(app, question(), auth)
    await chat(app, question({ model: 'brief' }), auth)
    await chat(app, question({ model: 'brief', seed: 1 }), auth)

    expect((await purge('/admin/cache', {})).statusCode).toBe(401)
    const unknownParam = await purge('/admin/cache?modle=fast')
    expect(unknownParam.statusCode).toBe(400)
    expect(unknownParam.json().error.type).toBe('invalid_request_error')

    const byModel = await purge('/admin/cache?model=brief')
    expect(byModel.statusCode).toBe(200)
    expect(byModel.json()).toEqual({ object: 'cache.purge', model: 'brief', deleted: 2, enabled: true })
    expect((await chat(app, question(), auth)).headers['x-anygate-cache']).toBe('HIT')
    expect((await chat(app, question({ model: 'brief' }), auth)).headers['x-anygate-cache']).toBe('MISS')

    const all = await purge('/admin/cache')
    expect(all.json()).toEqual({ object: 'cache.purge', model: null, deleted: 2, enabled: true })
    expect((await chat(app, question(), auth)).headers['x-anygate-cache']).toBe('MISS')
  })

  it('answers deleted 0 when the cache is off', async () => {
    const upstream = await startCountingUpstream()
    const { app } = await buildTestApp(
      cacheConfig(upstream, { cache: { enabled: false }, auth: { master_key: masterKey } }),
    )
    const res = await app.inject({ method: 'DELETE', url: '/admin/cache', headers: auth })
    expect(res.json()).toEqual({ object: 'cache.purge', model: null, deleted: 0, enabled: false })
  })
})
