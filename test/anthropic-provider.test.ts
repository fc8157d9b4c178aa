// End to end: the official OpenAI SDK -> the gateway -> an anthropic provider -> the fake Anthropic
// upstream. Asserts both what the client gets and what Anthropic received.
import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import type { AnthropicMessagesRequest } from '../schemas/anthropic/messages.js'
import { anthropicMessage, type FakeReply } from './anthropic-fake.js'
import { gatewayKey, providerKey, startAnthropicGateway, upstreamModel } from './anthropic-gateway.js'
import { buildTestApp, parseSse } from './helpers/app.js'

const hello = anthropicMessage([{ type: 'text', text: 'Bonjour ! 日本語 👋 ok.' }], {
  usage: { input_tokens: 30, output_tokens: 12, cache_read_input_tokens: 20, cache_creation_input_tokens: 0 },
})
const always = (reply: FakeReply) => () => reply
const sentBody = (upstream: { requests: { body: unknown }[] }, i = 0) =>
  upstream.requests[i]?.body as AnthropicMessagesRequest

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

describe('anthropic provider through the OpenAI SDK', () => {
  it('answers a chat completion; Anthropic gets system on top, the provider key and anthropic-version', async () => {
    const { client, upstream } = await startAnthropicGateway(always({ message: hello }))
    const completion = await client.chat.completions.create({
      model: 'smart',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0.2,
      max_completion_tokens: 100,
    })
    expect(completion.choices[0]?.message.content).toBe('Bonjour ! 日本語 👋 ok.')
    expect(completion.choices[0]?.finish_reason).toBe('stop')
    expect(completion.usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 })
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(20)

    const [seen] = upstream.requests
    expect(seen?.url).toBe('/v1/messages')
    expect(seen?.headers['x-api-key']).toBe(providerKey)
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01')
    expect(seen?.headers.authorization).toBeUndefined()
    expect(JSON.stringify(seen?.headers)).not.toContain(gatewayKey)
    expect(seen?.body).toEqual({
      model: upstreamModel,
      max_tokens: 100,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Answer in French.' },
      ],
      messages: [{ role: 'user', content: 'Say hello' }],
      temperature: 0.2,
    })
  })

  it('sends the configured anthropic-version and operator headers', async () => {
    const { client, upstream } = await startAnthropicGateway(always({ message: hello }), {
      options: { anthropic_version: '2026-10-21' },
      headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' },
    })
    await client.chat.completions.create({
      model: 'claude/claude-haiku-4-5',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(upstream.requests[0]?.headers['anthropic-version']).toBe('2026-10-21')
    expect(upstream.requests[0]?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31')
    expect(sentBody(upstream).model).toBe('claude-haiku-4-5')
  })

  it('streams, with usage, from an upstream whose bytes arrive 3 at a time', async () => {
    const { client, upstream } = await startAnthropicGateway(
      always({ message: hello }),
      {},
      { writeBytes: 3 },
    )
    const stream = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    const finishes: (string | null)[] = []
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason)
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('Bonjour ! 日本語 👋 ok.')
    expect(finishes.at(-1)).toBe('stop')
    expect(usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 })
    expect(sentBody(upstream).stream).toBe(true)
  })

  it('leaves the usage chunk out when the client did not ask, and ends with [DONE]', async () => {
    const { post } = await startAnthropicGateway(always({ message: hello }))
    const events = parseSse(
      await (await post({ model: 'smart', messages: [{ role: 'user', content: 'x' }], stream: true })).text(),
    )
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1) as { choices: unknown[]; usage?: unknown }[]
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [{ delta: { role: 'assistant' } }],
    })
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true)
  })

  it('runs a tools round trip: parallel tool calls out, tool results back with their ids', async () => {
    const toolTurn = anthropicMessage([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'toolu_paris', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_tokyo', name: 'get_weather', input: { city: 'Tokyo' } },
    ])
    const finalTurn = anthropicMessage([{ type: 'text', text: 'Tokyo is warmer.' }])
    const { client, upstream } = await startAnthropicGateway((body) =>
      body.messages.length === 1 ? { message: toolTurn } : { message: finalTurn },
    )
    const question: OpenAI.ChatCompletionMessageParam = {
      role: 'user',
      content: 'Paris or Tokyo, which is warmer?',
    }
    // Streamed and assembled by the SDK: the tool-call indexes and fragments must line up.
    const first = await client.chat.completions
      .stream({ model: 'smart', messages: [question], tools: [weatherTool], parallel_tool_calls: true })
      .finalChatCompletion()
    const assistant = first.choices[0]!.message
    expect(first.choices[0]?.finish_reason).toBe('tool_calls')
    expect(assistant.content).toBe('Checking both.')
    const calls = (assistant.tool_calls ?? []).map(
      (c) => c.type === 'function' && [c.id, c.function.name, JSON.parse(c.function.arguments)],
    )
    expect(calls).toEqual([
      ['toolu_paris', 'get_weather', { city: 'Paris' }],
      ['toolu_tokyo', 'get_weather', { city: 'Tokyo' }],
    ])
    expect(sentBody(upstream, 0).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ])

    const second = await client.chat.completions.create({
      model: 'smart',
      tools: [weatherTool],
      messages: [
        question,
        { role: 'assistant', content: assistant.content, tool_calls: assistant.tool_calls },
        { role: 'tool', tool_call_id: 'toolu_paris', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_tokyo', content: '24°C' },
      ],
    })
    expect(second.choices[0]?.message.content).toBe('Tokyo is warmer.')
    expect(sentBody(upstream, 1).messages).toEqual([
      { role: 'user', content: 'Paris or Tokyo, which is warmer?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking both.' },
          { type: 'tool_use', id: 'toolu_paris', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_tokyo', name: 'get_weather', input: { city: 'Tokyo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_paris', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'toolu_tokyo', content: '24°C' },
        ],
      },
    ])
  })

  it('sends images as base64 and url sources', async () => {
    const { client, upstream } = await startAnthropicGateway(always({ message: hello }))
    await client.chat.completions.create({
      model: 'smart',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What differs?' },
            { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklGRg==' } },
            { type: 'image_url', image_url: { url: 'https://example.com/b.png', detail: 'low' } },
          ],
        },
      ],
    })
    expect(sentBody(upstream).messages[0]?.content).toEqual([
      { type: 'text', text: 'What differs?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGRg==' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/b.png' } },
    ])
  })

  it('answers response_format json_schema through a forced tool, as message content', async () => {
    const answer = anthropicMessage([
      { type: 'tool_use', id: 'toolu_x', name: 'person', input: { name: 'Ada', age: 36 } },
    ])
    const { client, upstream } = await startAnthropicGateway(always({ message: answer }))
    const format = {
      type: 'json_schema' as const,
      json_schema: {
        name: 'person',
        schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } },
      },
    }
    const json = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'Ada, 36' }],
      response_format: format,
    })
    expect(JSON.parse(json.choices[0]?.message.content ?? '')).toEqual({ name: 'Ada', age: 36 })
    expect(json.choices[0]?.finish_reason).toBe('stop')
    expect(json.choices[0]?.message.tool_calls).toBeUndefined()
    expect(sentBody(upstream).tool_choice).toEqual({ type: 'tool', name: 'person' })
    const streamed = await client.chat.completions
      .stream({ model: 'smart', messages: [{ role: 'user', content: 'Ada, 36' }], response_format: format })
      .finalChatCompletion()
    expect(JSON.parse(streamed.choices[0]?.message.content ?? '')).toEqual({ name: 'Ada', age: 36 })
  })

  it('maps reasoning_effort to a thinking budget and returns the thinking as reasoning_content', async () => {
    const answer = anthropicMessage([
      { type: 'thinking', thinking: 'Two plus two.', signature: 'sig-1' },
      { type: 'text', text: '4' },
    ])
    const { post, upstream } = await startAnthropicGateway(always({ message: answer }))
    const res = await post({
      model: 'smart',
      messages: [{ role: 'user', content: '2+2?' }],
      reasoning_effort: 'low',
    })
    const message = ((await res.json()) as OpenAI.ChatCompletion).choices[0]?.message
    expect(message).toMatchObject({
      content: '4',
      reasoning_content: 'Two plus two.',
      thinking_blocks: [{ type: 'thinking', thinking: 'Two plus two.', signature: 'sig-1' }],
    })
    expect(sentBody(upstream)).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 1024 },
      max_tokens: 16384 + 1024,
    })
  })

  it('lists the provider models that are not globs', async () => {
    const { client } = await startAnthropicGateway(always({ message: hello }))
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toContain('claude/claude-haiku-4-5')
    expect(ids.some((id) => id.includes('*'))).toBe(false)
  })

  it('refuses to start with a misspelt provider option, naming its path', async () => {
    await expect(
      buildTestApp({
        providers: { claude: { type: 'anthropic', api_key: 'k', options: { default_max_token: 10 } } },
      }),
    ).rejects.toThrow('providers.claude.options.default_max_token: unknown option for type anthropic')
  })
})
