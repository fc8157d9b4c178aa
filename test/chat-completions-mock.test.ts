import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody, parseSse } from './helpers/app.js'

const withModels = {
  providers: { mock: { type: 'mock' } },
  models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
}

describe('POST /v1/chat/completions on the mock provider', () => {
  it('answers a public model with an OpenAI chat.completion and the gateway headers', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('echo', 'ping pong'),
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('mock')
    expect(res.headers['x-anygate-model']).toBe('echo')
    expect(res.headers['x-anygate-attempts']).toBe('1')
    const body = res.json()
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'echo',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ping pong' }, finish_reason: 'stop' }],
    })
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
  })

  it('reaches a provider directly with <provider>/<model>', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/fixed'),
    })
    expect(res.json().choices[0].message.content).toBe("Hello from AnyGate's mock provider.")
  })

  it('streams SSE chunks that reassemble into the answer, ending with [DONE]', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('echo', 'one two three', { stream: true }),
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/event-stream')
    const events = parseSse(res.body)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1) as {
      choices: { delta: { content?: string }; finish_reason: string | null }[]
      usage?: unknown
    }[]
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('one two three')
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
    // Usage was not asked for: no usage chunk and no usage field.
    expect(chunks.every((c) => c.choices.length > 0 && !('usage' in c))).toBe(true)
  })

  it('adds the usage chunk when stream_options.include_usage is set', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('echo', 'count me', { stream: true, stream_options: { include_usage: true } }),
    })
    const events = parseSse(res.body)
    const usageChunk = events.at(-2) as { choices: unknown[]; usage: { completion_tokens: number } }
    expect(usageChunk.choices).toEqual([])
    expect(usageChunk.usage.completion_tokens).toBeGreaterThan(0)
  })

  it('honours n and max_tokens', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('echo', 'a long enough sentence to be cut short', { n: 2, max_tokens: 2 }),
    })
    const body = res.json()
    expect(body.choices).toHaveLength(2)
    expect(body.choices[1].finish_reason).toBe('length')
    expect(body.choices[1].message.content).toBe('a long e')
  })

  it('calls the first tool on the tools model, in stream and non-stream mode', async () => {
    const { app } = await buildTestApp(withModels)
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }]
    const plain = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/tools', 'weather', { tools }),
    })
    const call = plain.json().choices[0].message.tool_calls[0]
    expect(plain.json().choices[0].finish_reason).toBe('tool_calls')
    expect(call.function).toEqual({ name: 'lookup', arguments: '{"input":"weather"}' })

    const streamed = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/tools', 'weather', { tools, stream: true }),
    })
    const deltas = parseSse(streamed.body)
      .slice(0, -1)
      .flatMap(
        (c) =>
          (
            c as {
              choices: {
                delta: { tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] }
              }[]
            }
          ).choices,
      )
      .flatMap((choice) => choice.delta.tool_calls ?? [])
    expect(deltas[0]?.id).toBe(call.id)
    expect(deltas[0]?.function?.name).toBe('lookup')
    expect(deltas.slice(1).every((d) => d.id === undefined)).toBe(true)
    expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe(call.function.arguments)
  })

  it('ends a stream that fails mid-way with an OpenAI error event and no [DONE]', async () => {
    const { app } = await buildTestApp(withModels)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'x-mock-fail-after': '2' },
      payload: chatBody('echo', 'one two three four', { stream: true }),
    })
    const events = parseSse(res.body)
    expect(events).toHaveLength(3)
    expect(events.at(-1)).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_stream_error' } })
    expect(events).not.toContain('[DONE]')
  })

  it('maps an injected upstream failure before the first byte to a plain HTTP error', async () => {
    const { app } = await buildTestApp(withModels)
    const limited = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/error-429', 'x', { stream: true }),
    })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('1')
    expect(limited.json().error.type).toBe('rate_limit_error')
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'x-mock-error': '500' },
      payload: chatBody('echo'),
    })
    expect(broken.statusCode).toBe(502)
    expect(broken.json().error.message).toContain('mock (model echo) returned 500')
  })
})
