// Failures through the gateway: Anthropic's HTTP errors, errors inside a stream, cut streams,
// requests refused before any upstream call, and the upstream socket's fate.
import { setTimeout as sleep } from 'node:timers/promises'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { anthropicMessage, type FakeReply, toEvents } from './anthropic-fake.js'
import { errorOf, gatewayKey, providerKey, startAnthropicGateway } from './anthropic-gateway.js'
import { parseSse } from './helpers/app.js'

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'smart',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
})
const fail = (
  status: number,
  type: string,
  message: string,
  headers?: Record<string, string>,
): FakeReply => ({
  error: { status, type, message, headers },
})

describe('anthropic provider: upstream HTTP errors', () => {
  it.each([
    [
      400,
      'invalid_request_error',
      'max_tokens: Input should be greater than 0',
      400,
      'invalid_request_error',
      null,
    ],
    [401, 'authentication_error', 'invalid x-api-key', 401, 'authentication_error', 'invalid_api_key'],
    [
      400,
      'invalid_request_error',
      'prompt is too long: 210000 tokens > 200000 maximum',
      400,
      'invalid_request_error',
      'context_length_exceeded',
    ],
    [500, 'api_error', 'Internal server error', 502, 'upstream_error', 'upstream_error'],
  ] as const)(
    'maps %i %s (%s) to %i in the OpenAI error shape',
    async (status, type, message, expectedStatus, expectedType, code) => {
      const { post } = await startAnthropicGateway(() => fail(status, type, message))
      const res = await post(chat())
      expect(res.status).toBe(expectedStatus)
      expect(await errorOf(res)).toEqual({
        message: `claude (model claude-sonnet-4-5) returned ${status}: ${message}`,
        type: expectedType,
        param: null,
        code,
      })
    },
  )

  it('keeps Retry-After on 429 and on 529 overloaded (answered as 503)', async () => {
    let call = 0
    const { post } = await startAnthropicGateway(() =>
      ++call === 1
        ? fail(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', {
            'retry-after': '12',
          })
        : fail(529, 'overloaded_error', 'Overloaded', { 'retry-after': '4' }),
    )
    const limited = await post(chat())
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('12')
    expect(await errorOf(limited)).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
    })
    const overloaded = await post(chat())
    expect(overloaded.status).toBe(503)
    expect(overloaded.headers.get('retry-after')).toBe('4')
    expect(await errorOf(overloaded)).toMatchObject({ code: 'provider_overloaded' })
  })

  it('gives the OpenAI SDK the error classes it raises for OpenAI itself', async () => {
    let call = 0
    const replies = [
      fail(401, 'authentication_error', 'invalid x-api-key'),
      fail(429, 'rate_limit_error', 'slow down'),
      fail(529, 'overloaded_error', 'Overloaded'),
    ]
    const { client } = await startAnthropicGateway(() => replies[call++]!)
    const ask = () =>
      client.chat.completions
        .create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e)
    expect(await ask()).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(await ask()).toBeInstanceOf(OpenAI.RateLimitError)
    expect(await ask()).toBeInstanceOf(OpenAI.InternalServerError)
  })

  it('answers 404 model_not_found when Anthropic does not know the model', async () => {
    const { post } = await startAnthropicGateway(() =>
      fail(404, 'not_found_error', 'model: claude-sonnet-4-5'),
    )
    const res = await post(chat())
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toMatchObject({ code: 'model_not_found', param: 'model' })
  })

  it("sends the real provider key and a wrong one is Anthropic's 401, never echoed", async () => {
    const { post, upstream } = await startAnthropicGateway(
      () => ({ message: anthropicMessage([{ type: 'text', text: 'x' }]) }),
      {
        api_key: 'sk-ant-wrong-key-000000001',
      },
    )
    const res = await post(chat())
    expect(res.status).toBe(401)
    expect(upstream.requests[0]?.headers['x-api-key']).toBe('sk-ant-wrong-key-000000001')
    expect(await res.text()).not.toContain('sk-ant-wrong-key-000000001')
  })
})

describe('anthropic provider: answers that are not Anthropic messages', () => {
  it('answers 502 for a 200 HTML page, invalid JSON, or JSON that is not a message', async () => {
    const bodies = [
      ['text/html', '<html>Bad gateway</html>'],
      ['application/json', '{"id": "msg_1", "content": ['],
      ['application/json', '{"choices": []}'],
    ]
    let call = 0
    const { post } = await startAnthropicGateway(() => {
      const [type, text] = bodies[call++]!
      return {
        raw: (res) => {
          res.writeHead(200, { 'content-type': type! })
          res.end(text)
        },
      }
    })
    for (const what of ['expected application/json', 'not valid JSON', 'not a message']) {
      const res = await post(chat())
      expect(res.status).toBe(502)
      expect(await errorOf(res)).toMatchObject({
        code: 'upstream_bad_response',
        message: expect.stringContaining(what),
      })
    }
  })
})

describe('anthropic provider: refused before any upstream call', () => {
  it('answers 400 naming the field and the provider, and calls nobody', async () => {
    const { post, upstream } = await startAnthropicGateway(() => ({ message: anthropicMessage([]) }))
    const res = await post(chat({ temperature: 1.5 }))
    expect(res.status).toBe(400)
    expect(await errorOf(res)).toEqual({
      message: 'Provider "claude": `temperature` must be between 0 and 1 (Anthropic\'s range); got 1.5.',
      type: 'invalid_request_error',
      param: 'temperature',
      code: 'invalid_value',
    })
    const audio = await post({
      model: 'smart',
      messages: [
        {
          role: 'user',
          content: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }],
        },
      ],
    })
    expect(audio.status).toBe(400)
    expect((await errorOf(audio)).param).toBe('messages[0].content[0]')
    expect(upstream.requests).toHaveLength(0)
  })

  it('refuses embeddings with a clear 400', async () => {
    const { gateway } = await startAnthropicGateway(() => ({ message: anthropicMessage([]) }))
    const res = await fetch(`${gateway.origin}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude/claude-haiku-4-5', input: 'x' }),
    })
    expect(res.status).toBe(400)
    // The route checks the declared capabilities (embeddings: false) before any adapter call.
    expect(await errorOf(res)).toMatchObject({
      code: 'unsupported_capability',
      message: expect.stringContaining('does not support embeddings'),
    })
    const adapter = gateway.app.providers.get('claude')!
    const ctx = {
      model: 'claude-haiku-4-5',
      signal: new AbortController().signal,
      requestId: 'r1',
      log: gateway.app.log,
      headers: {},
    }
    await expect(adapter.embeddings({ model: 'x', input: 'x' }, ctx)).rejects.toMatchObject({
      statusCode: 400,
      code: 'unsupported_feature',
      message: 'Provider "claude" does not support embeddings (Anthropic has no embeddings API).',
    })
  })
})

const started = toEvents(anthropicMessage([{ type: 'text', text: 'Partial answer' }])).slice(0, 5)

describe('anthropic provider: failures inside a stream', () => {
  it('ends the SSE with the mapped error (no [DONE]) on an error event, and the SDK raises it', async () => {
    const reply = {
      events: [...started, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
    }
    const { post, client } = await startAnthropicGateway(() => reply)
    const events = parseSse(await (await post(chat({ stream: true }))).text())
    expect(events).not.toContain('[DONE]')
    expect(events.at(-1)).toEqual({
      error: {
        message: 'claude (model claude-sonnet-4-5) sent an error mid-stream (overloaded_error): Overloaded',
        type: 'upstream_error',
        param: null,
        code: 'provider_overloaded',
      },
    })
    expect(events.slice(0, -1).length).toBeGreaterThan(1)
    const stream = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })
    const read = async () => {
      for await (const _chunk of stream) {
      }
    }
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError)
  })

  it('ends a stream cut before message_stop with an error, not [DONE]', async () => {
    const { post } = await startAnthropicGateway(() => ({ events: started }))
    const events = parseSse(await (await post(chat({ stream: true }))).text())
    expect(events).not.toContain('[DONE]')
    expect(events.at(-1)).toMatchObject({
      error: { code: 'upstream_bad_response', message: expect.stringContaining('message_stop') },
    })
  })

  it('ends a stream that stalls with a timeout error', async () => {
    const { post } = await startAnthropicGateway(() => ({ events: started, end: false }), {
      timeouts: { first_byte_ms: 300 },
    })
    const events = parseSse(await (await post(chat({ stream: true }))).text())
    expect(events.at(-1)).toMatchObject({ error: { code: 'upstream_timeout' } })
  })

  it('keeps the upstream connection after a finished stream', async () => {
    const { post, upstream } = await startAnthropicGateway(() => ({
      message: anthropicMessage([{ type: 'text', text: 'ok' }]),
    }))
    for (let i = 0; i < 3; i++) {
      await (await post(chat({ stream: true }))).text()
      await upstream.requests[i]?.ended
      await sleep(20)
    }
    expect(upstream.requests.map((r) => r.aborted)).toEqual([false, false, false])
    expect(new Set(upstream.requests.map((r) => r.remotePort)).size).toBe(1)
  })

  it('aborts the upstream stream when the client leaves', async () => {
    const many = Array.from({ length: 400 }, (_, i) => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: `piece ${i} ` },
    }))
    const { gateway, upstream } = await startAnthropicGateway(
      () => ({ events: [...started, ...many], end: false }),
      {},
      { writeBytes: 64 },
    )
    const controller = new AbortController()
    const res = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(chat({ stream: true })),
      signal: controller.signal,
    })
    await res.body!.getReader().read()
    controller.abort()
    await upstream.requests[0]?.ended
    expect(upstream.requests[0]?.aborted).toBe(true)
    expect(upstream.requests[0]?.headers['x-api-key']).toBe(providerKey)
  })
})
