// POST /v1/messages and /v1/messages/count_tokens through inject: headers, validation, capability
// checks, the raw SSE body and the error shape.
import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { buildTestApp, listenTestApp } from './helpers/app.js'

const key = 'sk-route-key'

async function app(capabilities?: Record<string, boolean>) {
  const { app, logs } = await buildTestApp({
    auth: { master_key: key },
    providers: { mock: { type: 'mock', ...(capabilities ? { capabilities } : {}) } },
    models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
  })
  const post = (payload: unknown, url = '/v1/messages', headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'x-api-key': key, ...headers }, payload: payload as object })
  return { post, logs }
}

const hello = { model: 'echo', max_tokens: 50, messages: [{ role: 'user', content: 'hello route' }] }

describe('POST /v1/messages', () => {
  it('sets the x-anygate-* headers and logs the call like the OpenAI route', async () => {
    const { post, logs } = await app()
    const res = await post(hello)
    expect(res.statusCode).toBe(200)
    expect(res.headers).toMatchObject({
      'x-anygate-provider': 'mock',
      'x-anygate-model': 'echo',
      'x-anygate-attempts': '1',
      'x-anygate-cache': 'BYPASS',
    })
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(logs.find((line) => line.msg === 'request completed')).toMatchObject({
      route: '/v1/messages',
      status: 200,
      model: 'echo',
      provider: 'mock',
      upstream_model: 'echo',
    })
  })

  it('streams named events with a ping right after message_start', async () => {
    const { post } = await app()
    const res = await post({ ...hello, stream: true })
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(res.headers['x-anygate-provider']).toBe('mock')
    const events = res.body.split('\n\n').filter(Boolean)
    expect(events[0]).toMatch(/^event: message_start\ndata: \{"type":"message_start",/)
    expect(events[1]).toBe('event: ping\ndata: {"type":"ping"}')
    expect(events.at(-1)).toBe('event: message_stop\ndata: {"type":"message_stop"}')
  })

  it('names top-level fields it left out in x-anygate-ignored-params', async () => {
    const { post } = await app()
    const res = await post({ ...hello, context_management: { edits: [] }, service_tier: 'auto' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-ignored-params']).toBe('context_management, service_tier')
    expect((await post(hello)).headers['x-anygate-ignored-params']).toBeUndefined()
  })

  it('answers validation errors in the Anthropic error shape', async () => {
    const { post } = await app()
    const res = await post({ model: 'echo', messages: [{ role: 'user', content: 'x' }] })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining('max_tokens'),
        param: expect.anything(),
        code: 'invalid_value',
      },
    })
    const badBlock = await post({
      ...hello,
      messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }],
    })
    expect(badBlock.statusCode).toBe(400)
    expect(badBlock.json().type).toBe('error')
  })

  it.each([
    ['tools', { tools: [{ name: 'f', input_schema: { type: 'object' } }] }, 'tools'],
    [
      'vision',
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }],
          },
        ],
      },
      'vision',
    ],
    ['streaming', { stream: true }, 'streaming'],
  ])('refuses %s on a model without it, before calling the provider', async (capability, extra, word) => {
    const { post } = await app({ [capability]: false })
    const res = await post({ ...hello, ...extra })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      type: 'error',
      error: { code: 'unsupported_capability', message: new RegExp(`does not support ${word}`) },
    })
  })

  it('answers a translation refusal as a 400 naming the field', async () => {
    const { post } = await app()
    const res = await post({ ...hello, top_k: 3 })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        param: 'top_k',
        code: 'unsupported_feature',
        message: /provider "mock", type mock/,
      },
    })
  })

  it('needs the gateway key', async () => {
    const { post } = await app()
    const res = await post(hello, '/v1/messages', { 'x-api-key': 'sk-nope' })
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ type: 'error', error: { message: /Incorrect API key/ } })
  })
})

describe('POST /v1/messages/count_tokens', () => {
  it('answers an estimate, marked as one', async () => {
    const { post } = await app()
    const res = await post(
      { model: 'echo', messages: [{ role: 'user', content: 'x'.repeat(40) }] },
      '/v1/messages/count_tokens',
    )
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ input_tokens: 10 })
    expect(res.headers['x-anygate-token-count']).toBe('estimate')
  })

  it('404s an unknown model and 400s a body without messages', async () => {
    const { post } = await app()
    const missing = await post({ model: 'nope', messages: [] }, '/v1/messages/count_tokens')
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ type: 'error', error: { param: 'model' } })
    expect((await post({ model: 'echo' }, '/v1/messages/count_tokens')).statusCode).toBe(400)
  })

  it('serves the SDK countTokens call', async () => {
    const { origin } = await listenTestApp({
      auth: { master_key: key },
      providers: { mock: { type: 'mock' } },
    })
    const client = new Anthropic({ apiKey: key, baseURL: origin, maxRetries: 0 })
    const counted = await client.messages.countTokens({
      model: 'mock/echo',
      system: 'abcd',
      messages: [{ role: 'user', content: 'efgh' }],
    })
    expect(counted.input_tokens).toBe(2)
  })
})
