// The official Anthropic SDK as the client of POST /v1/messages, against the mock provider and an
// OpenAI-compatible loopback upstream: what Claude Code and Anthropic SDK users actually run.
import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { listenTestApp } from './helpers/app.js'
import {
  chunkBody,
  type FakeUpstream,
  sseData,
  startFakeUpstream,
  startSse,
} from './helpers/fake-upstream.js'
import { answers, startSmartUpstream } from './helpers/smart-upstream.js'

const gatewayKey = 'sk-gateway-anthropic-sdk'
const providerKey = 'sk-openai-provider-key-123'

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

async function gateway(upstream?: FakeUpstream) {
  const providers: Record<string, unknown> = { mock: { type: 'mock' } }
  if (upstream) providers.compat = { type: 'openai', base_url: upstream.url, api_key: providerKey }
  const { origin } = await listenTestApp({
    auth: { master_key: gatewayKey },
    providers,
    models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
  })
  const client = new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 })
  return { client, origin }
}

const textOf = (message: Anthropic.Message) =>
  message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')

describe('the Anthropic SDK against the mock provider', () => {
  it('creates a message', async () => {
    const { client } = await gateway()
    const { data, response } = await client.messages
      .create({ model: 'echo', max_tokens: 100, messages: [{ role: 'user', content: 'hello sdk' }] })
      .withResponse()
    expect(textOf(data)).toBe('hello sdk')
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'echo', stop_reason: 'end_turn' })
    expect(data.id).toMatch(/^msg_/)
    expect(data.usage.input_tokens).toBeGreaterThan(0)
    expect(data.usage.output_tokens).toBeGreaterThan(0)
    expect(response.headers.get('x-anygate-provider')).toBe('mock')
    expect(response.headers.get('x-anygate-model')).toBe('echo')
    expect(response.headers.get('request-id')).toBeTruthy()
  })

  it('streams a message in Anthropic event order', async () => {
    const { client } = await gateway()
    const stream = client.messages.stream({
      model: 'echo',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'one two three' }],
    })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    const final = await stream.finalMessage()
    expect(textOf(final)).toBe('one two three')
    expect(final.stop_reason).toBe('end_turn')
    expect(final.usage.output_tokens).toBeGreaterThan(0)
    // The SDK drops ping; the rest is Anthropic's sequence, one text block with one delta per word.
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
  })

  it('calls a tool, in JSON and streamed', async () => {
    const { client } = await gateway()
    const params = {
      model: 'mock/tools',
      max_tokens: 100,
      tools: [weather],
      messages: [{ role: 'user' as const, content: 'weather in Paris?' }],
    }
    for (const message of [
      await client.messages.create(params),
      await client.messages.stream(params).finalMessage(),
    ]) {
      const use = message.content.find((block) => block.type === 'tool_use')
      expect(use?.type === 'tool_use' && [use.name, use.input]).toEqual([
        'get_weather',
        { input: 'weather in Paris?' },
      ])
      expect(use?.type === 'tool_use' && use.id).toMatch(/^call_/)
      expect(message.stop_reason).toBe('tool_use')
    }
  })

  it('raises APIError when the upstream fails mid-stream', async () => {
    const { client } = await gateway()
    const stream = client.messages.stream(
      { model: 'echo', max_tokens: 100, messages: [{ role: 'user', content: 'a b c d e f' }] },
      { headers: { 'x-mock-fail-after': '3' } },
    )
    const seen: string[] = []
    const read = async () => {
      for await (const event of stream) seen.push(event.type)
    }
    await expect(read()).rejects.toBeInstanceOf(Anthropic.APIError)
    await expect(stream.finalMessage()).rejects.toMatchObject({ error: { error: { type: 'api_error' } } })
    expect(seen).toContain('content_block_delta')
    expect(seen).not.toContain('message_stop')
  })

  it('raises the SDK error classes for 400, 401 and 404, with the Anthropic error body', async () => {
    const { client, origin } = await gateway()
    const invalid = client.messages.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'x' }],
    } as never)
    await expect(invalid).rejects.toBeInstanceOf(Anthropic.BadRequestError)
    await expect(invalid).rejects.toMatchObject({
      status: 400,
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
      },
    })
    const stranger = new Anthropic({ apiKey: 'sk-wrong', baseURL: origin, maxRetries: 0 })
    const denied = stranger.messages.create({
      model: 'echo',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    })
    await expect(denied).rejects.toBeInstanceOf(Anthropic.AuthenticationError)
    await expect(denied).rejects.toMatchObject({
      error: { type: 'error', error: { message: /Incorrect API key/ } },
    })
    const missing = client.messages.create({
      model: 'nope',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    })
    await expect(missing).rejects.toBeInstanceOf(Anthropic.NotFoundError)
    await expect(missing).rejects.toMatchObject({
      error: { type: 'error', error: { message: /The model `nope` does not exist/, param: 'model' } },
    })
    // top_k is still in the API, though this SDK version no longer types it.
    const withTopK = {
      model: 'echo',
      max_tokens: 5,
      top_k: 5,
      messages: [{ role: 'user' as const, content: 'x' }],
    }
    const topK = client.messages.create(withTopK)
    await expect(topK).rejects.toBeInstanceOf(Anthropic.BadRequestError)
    await expect(topK).rejects.toMatchObject({ error: { error: { param: 'top_k' } } })
  })
})

describe('the Anthropic SDK against an OpenAI-compatible upstream', () => {
  it('sends the system prompt first, tools as functions and the provider key, then completes a tool round trip', async () => {
    const upstream = await startSmartUpstream('openai')
    const { client } = await gateway(upstream)
    const first = await client.messages.create({
      model: 'compat/gpt-up',
      max_tokens: 256,
      system: [{ type: 'text', text: 'be brief' }],
      tools: [weather],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    })
    const use = first.content.find((block) => block.type === 'tool_use')
    expect(use?.type === 'tool_use' && [use.id, use.name, use.input]).toEqual([
      'call_smart_1',
      'get_weather',
      answers.toolArgs,
    ])
    expect(first.stop_reason).toBe('tool_use')
    // The model the upstream reports, as on /v1/chat/completions.
    expect(first.model).toBe('gpt-up')

    const seen = upstream.requests[0]!
    expect(seen.url).toBe('/v1/chat/completions')
    expect(seen.headers.authorization).toBe(`Bearer ${providerKey}`)
    expect(JSON.stringify(seen.headers)).not.toContain(gatewayKey)
    expect(seen.body).toEqual({
      model: 'gpt-up',
      max_completion_tokens: 256,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'weather in Paris?' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: weather.description,
            parameters: weather.input_schema,
          },
        },
      ],
    })

    const second = await client.messages.create({
      model: 'compat/gpt-up',
      max_tokens: 256,
      tools: [weather],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_smart_1', content: 'sunny' }] },
      ],
    })
    expect(textOf(second)).toBe(answers.toolResult('sunny'))
    expect(second.stop_reason).toBe('end_turn')
    expect((upstream.requests[1]!.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_smart_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_smart_1', content: 'sunny' },
    ])
  })

  it('streams text and tool calls, asking the upstream for usage', async () => {
    const upstream = await startSmartUpstream('openai')
    const { client } = await gateway(upstream)
    const text = await client.messages
      .stream({ model: 'compat/gpt-up', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .finalMessage()
    expect(textOf(text)).toBe(answers.echo('hello', ''))
    expect(text.usage).toMatchObject({ input_tokens: 11, output_tokens: 5 })
    expect(upstream.requests[0]!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    })

    const stream = client.messages.stream({
      model: 'compat/gpt-up',
      max_tokens: 64,
      tools: [weather],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    })
    const fragments: string[] = []
    stream.on('inputJson', (partial) => fragments.push(partial))
    const tool = await stream.finalMessage()
    expect(fragments.length).toBeGreaterThan(1)
    expect(tool.content).toEqual([
      { type: 'tool_use', id: 'call_smart_1', name: 'get_weather', input: answers.toolArgs },
    ])
    expect(tool.stop_reason).toBe('tool_use')
  })

  it('aborts the upstream call when the client stops reading', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'first' })))
      // Then nothing: a slow model. Only the gateway hanging up ends this exchange.
      await new Promise((resolve) => res.on('close', resolve))
    })
    const { client } = await gateway(upstream)
    const stream = client.messages.stream({
      model: 'compat/slow',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'take your time' }],
    })
    for await (const event of stream) {
      if (event.type === 'content_block_delta') break
    }
    await upstream.requests[0]!.ended
    expect(upstream.requests[0]!.aborted).toBe(true)
  })
})
