// End to end: the official openai SDK -> the gateway -> a `gemini` provider -> the loopback fake
// Gemini API (proven against @google/genai in gemini-sdk-fake.test.ts). Asserts what the client gets
// and what Google would have received.
import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fakeEmbedding } from './fixtures/gemini/fake-gemini.js'
import {
  gatewayKey,
  providerKey,
  scripted,
  setup,
  upstreamModel,
  weatherTool,
} from './fixtures/gemini/gateway-setup.js'
import { parseSse } from './helpers/app.js'

describe('gemini provider through the gateway, with the official openai SDK', () => {
  it('answers a chat with the system instruction sent, the provider key and never the client key', async () => {
    const { upstream, client, body } = await setup()
    const { data, response } = await client.chat.completions
      .create({
        model: 'smart',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello' },
        ],
      })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('echo: hello — ünïcödé 東京 🌦️')
    expect(data.choices[0]?.finish_reason).toBe('stop')
    expect(data.id).toBe('chatcmpl-resp-e2e')
    expect(data.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 })
    expect(response.headers.get('x-anygate-provider')).toBe('gem')
    const [seen] = upstream.requests
    expect(seen?.url).toBe(`/v1beta/models/${upstreamModel}:generateContent`)
    expect(seen?.headers['x-goog-api-key']).toBe(providerKey)
    expect(JSON.stringify(seen?.headers)).not.toContain(gatewayKey)
    expect(body()).toEqual({
      systemInstruction: { parts: [{ text: 'be brief' }] },
      contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
    })
  })

  it('lists the configured model ids that are not globs', async () => {
    const { client } = await setup()
    const ids = (await client.models.list()).data.map((m) => m.id)
    expect(ids).toContain('smart')
    expect(ids).toContain('gem/gemini-2.5-pro')
    expect(ids.some((id) => id.includes('*'))).toBe(false)
  })

  it('streams through the SDK with bytes split inside events and UTF-8 characters, usage last', async () => {
    const { upstream, client } = await setup(scripted, 3)
    const stream = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(upstream.requests[0]?.url).toBe(`/v1beta/models/${upstreamModel}:streamGenerateContent?alt=sse`)
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe('echo: hello — ünïcödé 東京 🌦️')
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3)
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop')
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 5 } })
  })

  it('leaves the usage chunk out when the client did not ask for it', async () => {
    const { gateway } = await setup()
    const res = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'smart', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    })
    const events = parseSse(await res.text()) as Array<{ choices?: unknown[] } | string>
    expect(events.at(-1)).toBe('[DONE]')
    expect(events.some((e) => typeof e === 'object' && e.choices?.length === 0)).toBe(false)
  })

  it('runs a tools round trip: cleaned declarations up, calls back with ids, results tied back by name', async () => {
    const { client, body } = await setup()
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris and Tokyo?' },
    ]
    const first = await client.chat.completions.create({
      model: 'smart',
      messages,
      tools: [weatherTool],
      tool_choice: 'auto',
    })
    expect(body(0).tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: {
              type: 'OBJECT',
              properties: {
                city: { type: 'STRING', description: 'A city name' },
                unit: { type: 'STRING', nullable: true, enum: ['c', 'f'] },
              },
              required: ['city', 'unit'],
            },
          },
        ],
      },
    ])
    expect(body(0).toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } })
    const message = first.choices[0]!.message
    expect(first.choices[0]?.finish_reason).toBe('tool_calls')
    const calls = (message.tool_calls ?? []).filter((call) => call.type === 'function')
    expect(calls.map((call) => [call.function.name, JSON.parse(call.function.arguments)])).toEqual([
      ['get_weather', { city: 'Paris' }],
      ['get_weather', { city: 'Tokyo' }],
    ])
    expect(new Set(calls.map((call) => call.id)).size).toBe(2)
    // The assistant message goes back as the SDK returned it (thought signature included).
    messages.push(
      message,
      ...calls.map((call, i) => ({
        role: 'tool' as const,
        tool_call_id: call.id,
        content: i === 0 ? 'sunny' : '{"temp":18}',
      })),
    )
    const second = await client.chat.completions.create({ model: 'smart', messages, tools: [weatherTool] })
    expect(second.choices[0]?.message.content).toBe('The tool get_weather said: {"result":"sunny"}')
    expect(body(1).contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Tokyo?' }] },
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris' } },
            thoughtSignature: 'c2lnLXBhcmlz',
          },
          { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { result: 'sunny' } } },
          { functionResponse: { name: 'get_weather', response: { temp: 18 } } },
        ],
      },
    ])
  })

  it('streams tool calls that the SDK assembles into whole calls', async () => {
    const { client } = await setup()
    const final = await client.chat.completions
      .stream({ model: 'smart', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] })
      .finalChatCompletion()
    const calls = (final.choices[0]?.message.tool_calls ?? []).filter((call) => call.type === 'function')
    expect(calls.map((call) => JSON.parse(call.function.arguments))).toEqual([
      { city: 'Paris' },
      { city: 'Tokyo' },
    ])
    expect(calls.every((call) => /^call_/.test(call.id))).toBe(true)
    expect(final.choices[0]?.finish_reason).toBe('tool_calls')
  })

  it('sends images as inlineData (data: URLs) and fileData (https URLs)', async () => {
    const { client, body } = await setup()
    const answer = await client.chat.completions.create({
      model: 'smart',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what are these?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp' } },
          ],
        },
      ],
    })
    expect(answer.choices[0]?.message.content).toContain('[image] [image]')
    expect(body().contents[0]?.parts).toEqual([
      { text: 'what are these?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { fileUri: 'https://example.com/cat.webp', mimeType: 'image/webp' } },
    ])
  })

  it('embeds a string with embedContent and a list with batchEmbedContents in batches of 100', async () => {
    const { upstream, client } = await setup()
    // The SDK asks for base64 by default and decodes it: float32 little-endian, so values are fround()ed.
    const single = await client.embeddings.create({
      model: 'gem/gemini-embedding-001',
      input: 'héllo',
      dimensions: 4,
    })
    expect(single.data[0]?.embedding).toEqual(fakeEmbedding('héllo', 4).map(Math.fround))
    expect(single.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 })
    expect(upstream.requests[0]?.url).toBe('/v1beta/models/gemini-embedding-001:embedContent')
    expect(upstream.requests[0]?.body).toEqual({
      content: { parts: [{ text: 'héllo' }] },
      outputDimensionality: 4,
    })
    const inputs = Array.from({ length: 150 }, (_, i) => `text ${i}`)
    const many = await client.embeddings.create({
      model: 'gem/gemini-embedding-001',
      input: inputs,
      encoding_format: 'float',
    })
    expect(many.data.map((d) => d.index)).toEqual(inputs.map((_, i) => i))
    expect(many.data.map((d) => d.embedding)).toEqual(inputs.map((text) => fakeEmbedding(text)))
    expect(
      upstream.requests.slice(1).map((r) => (r.body as { requests: unknown[] }).requests.length),
    ).toEqual([100, 50])
    const tokens = await client.embeddings
      .create({ model: 'gem/gemini-embedding-001', input: [[1, 2, 3]] })
      .catch((e: unknown) => e)
    expect(tokens).toMatchObject({ status: 400, param: 'input' })
  })
})
