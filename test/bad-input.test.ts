import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody, listenTestApp } from './helpers/app.js'

const post = (payload: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/v1/chat/completions',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
})

function expectOpenAIError(res: { statusCode: number; json(): unknown; body: string }, status: number) {
  expect(res.statusCode).toBe(status)
  const body = res.json() as { error: Record<string, unknown> }
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  expect(typeof body.error.message).toBe('string')
  expect(res.body).not.toMatch(/\n\s+at /) // no stack trace
  return body.error
}

describe('bad input gets a clear 4xx in the OpenAI error shape and the server keeps serving', () => {
  const cases: [string, ReturnType<typeof post>, number, Partial<Record<string, unknown>>][] = [
    ['invalid JSON', post('{"model": "mock/echo",'), 400, { code: 'invalid_json' }],
    ['an empty body', post(''), 400, { code: 'invalid_json' }],
    ['a missing messages field', post({ model: 'mock/echo' }), 400, { param: 'messages' }],
    ['an empty messages array', post({ model: 'mock/echo', messages: [] }), 400, { param: 'messages' }],
    ['a wrong type', post({ ...chatBody('mock/echo'), temperature: 'hot' }), 400, { param: 'temperature' }],
    [
      'an out-of-range value',
      post({ ...chatBody('mock/echo'), temperature: 7 }),
      400,
      { param: 'temperature' },
    ],
    [
      'an unknown role',
      post({ model: 'mock/echo', messages: [{ role: 'robot', content: 'x' }] }),
      400,
      { param: 'messages[0].role' },
    ],
    [
      'a tool message without tool_call_id',
      post({ model: 'mock/echo', messages: [{ role: 'tool', content: 'x' }] }),
      400,
      { param: 'messages[0].tool_call_id' },
    ],
    [
      'an unknown content part',
      post({ model: 'mock/echo', messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }),
      400,
      { param: 'messages[0].content[0].type' },
    ],
    ['a prototype-pollution key', post('{"model":"mock/echo","messages":[],"__proto__":{"x":1}}'), 400, {}],
    ['an unknown model', post(chatBody('no-such-model')), 404, { code: 'model_not_found', param: 'model' }],
    [
      'a non-JSON content type',
      {
        method: 'POST' as const,
        url: '/v1/chat/completions',
        headers: { 'content-type': 'text/plain' },
        payload: 'hi',
      },
      415,
      {},
    ],
  ]

  it.each(cases)('%s', async (_name, request, status, fields) => {
    const { app } = await buildTestApp()
    const error = expectOpenAIError(await app.inject(request), status)
    expect(error).toMatchObject(fields)
    const next = await app.inject(post(chatBody('mock/echo')))
    expect(next.statusCode).toBe(200)
  })

  it('names the field and the allowed values in the message', async () => {
    const { app } = await buildTestApp()
    const role = expectOpenAIError(
      await app.inject(post({ model: 'mock/echo', messages: [{ role: 'robot', content: 'x' }] })),
      400,
    )
    expect(role.message).toContain("'messages[0].role'")
    expect(role.message).toContain("'assistant'")
    const missing = expectOpenAIError(await app.inject(post({ model: 'mock/echo' })), 400)
    expect(missing.message).toBe("Missing required parameter: 'messages'.")
    const unknown = expectOpenAIError(await app.inject(post(chatBody('no-such-model'))), 404)
    expect(unknown.message).toContain('GET /v1/models')
  })

  it('refuses a 10 MB body with 413 and serves the next request', async () => {
    const { app } = await buildTestApp()
    const huge = JSON.stringify(chatBody('mock/echo', 'x'.repeat(10 * 1024 * 1024)))
    const error = expectOpenAIError(await app.inject(post(huge)), 413)
    expect(error.code).toBe('request_too_large')
    expect(error.message).toContain('server.body_limit_bytes')
    expect((await app.inject(post(chatBody('mock/echo')))).statusCode).toBe(200)
  })

  it('refuses a 10 MB upload over a real socket and keeps serving', async () => {
    const { origin } = await listenTestApp()
    const send = (body: string) =>
      fetch(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const huge = await send(JSON.stringify(chatBody('mock/echo', 'x'.repeat(10 * 1024 * 1024))))
    expect(huge.status).toBe(413)
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('request_too_large')
    const next = await send(JSON.stringify(chatBody('mock/echo', 'still here')))
    expect(next.status).toBe(200)
  })

  it('answers unknown routes with a 404 in the OpenAI shape', async () => {
    const { app } = await buildTestApp()
    const error = expectOpenAIError(await app.inject({ method: 'POST', url: '/v1/nothing-here' }), 404)
    expect(error.message).toContain('POST /v1/nothing-here')
  })

  it('validates embeddings requests too', async () => {
    const { app } = await buildTestApp()
    const error = expectOpenAIError(
      await app.inject({
        method: 'POST',
        url: '/v1/embeddings',
        payload: { model: 'mock/embed', input: [] },
      }),
      400,
    )
    expect(error.param).toBe('input')
  })

  it('refuses an embedding of millions of dimensions from the mock instead of building it', async () => {
    const { app } = await buildTestApp()
    // 169,220,804 is the size a fuzzed request once asked for: the vector took the process down.
    for (const dimensions of [8_193, 169_220_804]) {
      const error = expectOpenAIError(
        await app.inject({
          method: 'POST',
          url: '/v1/embeddings',
          payload: { model: 'mock/embed', input: 'hello', dimensions },
        }),
        400,
      )
      expect(error).toMatchObject({ param: 'dimensions', code: 'invalid_value' })
    }
    const served = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { model: 'mock/embed', input: 'hello', dimensions: 8_192 },
    })
    expect(served.statusCode).toBe(200)
    expect((served.json() as { data: { embedding: number[] }[] }).data[0]!.embedding).toHaveLength(8_192)
  })
})

describe('master key', () => {
  const config = { auth: { master_key: 'sk-master-secret-1234' }, providers: { mock: { type: 'mock' } } }

  it('rejects /v1 calls without the key or with a wrong one, and never echoes the key', async () => {
    const { app, rawLogs } = await buildTestApp(config)
    const missing = expectOpenAIError(await app.inject(post(chatBody('mock/echo'))), 401)
    expect(missing.code).toBe('invalid_api_key')
    const wrong = await app.inject(
      post(chatBody('mock/echo'), { authorization: 'Bearer sk-wrong-guess-999' }),
    )
    expectOpenAIError(wrong, 401)
    expect(wrong.body).not.toContain('sk-wrong-guess-999')
    const models = await app.inject({ method: 'GET', url: '/v1/models' })
    expectOpenAIError(models, 401)
    expect(rawLogs.join('')).not.toContain('sk-wrong-guess-999')
    expect(rawLogs.join('')).not.toContain('sk-master-secret-1234')
  })

  it('accepts the key as a bearer token or as x-api-key, and leaves health open', async () => {
    const { app } = await buildTestApp(config)
    const bearer = await app.inject(
      post(chatBody('mock/echo'), { authorization: 'Bearer sk-master-secret-1234' }),
    )
    expect(bearer.statusCode).toBe(200)
    const apiKey = await app.inject(post(chatBody('mock/echo'), { 'x-api-key': 'sk-master-secret-1234' }))
    expect(apiKey.statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
  })
})
