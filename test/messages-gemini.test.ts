// The Anthropic SDK as the client of /v1/messages with a Gemini-kind upstream behind it: what the
// client gets, and what the Gemini upstream received.
import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { listenTestApp } from './helpers/app.js'
import { answers, startSmartUpstream } from './helpers/smart-upstream.js'

const gatewayKey = 'sk-gateway-for-anthropic-clients'
const providerKey = 'gemini-provider-key-0123456789'

async function setup() {
  const upstream = await startSmartUpstream('gemini')
  const { origin } = await listenTestApp({
    auth: { master_key: gatewayKey },
    providers: { g: { type: 'gemini', base_url: upstream.origin, api_key: providerKey } },
    models: [{ name: 'claude-lookalike', targets: [{ provider: 'g', model: 'gemini-2.5-flash' }] }],
  })
  return { upstream, client: new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 }) }
}

const tools: Anthropic.Tool[] = [
  {
    name: 'get_weather',
    description: 'Weather for a city',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
]

describe('Anthropic client -> /v1/messages -> Gemini upstream', () => {
  it('places the system prompt, cleans the tool schema and sends the provider key, not the client key', async () => {
    const { upstream, client } = await setup()
    const message = await client.messages.create({
      model: 'claude-lookalike',
      max_tokens: 100,
      system: 'answer briefly',
      tools,
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    })
    const use = message.content.find((b) => b.type === 'tool_use')
    expect(use?.type === 'tool_use' && [use.name, use.input]).toEqual(['get_weather', answers.toolArgs])
    expect(message.stop_reason).toBe('tool_use')

    const seen = upstream.requests[0]!
    expect(seen.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent')
    expect(seen.headers['x-goog-api-key']).toBe(providerKey)
    expect(JSON.stringify(seen.headers)).not.toContain(gatewayKey)
    const body = seen.body as {
      systemInstruction: { parts: { text: string }[] }
      contents: { role: string; parts: { text?: string }[] }[]
      tools: { functionDeclarations: { name: string; parameters: Record<string, unknown> }[] }[]
      generationConfig: { maxOutputTokens: number }
    }
    expect(body.systemInstruction.parts.map((p) => p.text).join('')).toBe('answer briefly')
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'weather in Paris?' }] }])
    const declaration = body.tools[0]!.functionDeclarations[0]!
    expect(declaration.name).toBe('get_weather')
    // Gemini's Schema subset has no additionalProperties: it must not reach the upstream.
    expect(declaration.parameters).not.toHaveProperty('additionalProperties')
    expect(body.generationConfig.maxOutputTokens).toBe(100)
  })

  it('streams the tool result round trip back as Anthropic events', async () => {
    const { upstream, client } = await setup()
    const stream = client.messages.stream({
      model: 'claude-lookalike',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'sunny' }] },
      ],
    })
    const events: string[] = []
    stream.on('streamEvent', (event) => events.push(event.type))
    const message = await stream.finalMessage()
    expect(message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toContain('sunny')
    expect(events[0]).toBe('message_start')
    expect(events.at(-1)).toBe('message_stop')
    expect(events).toContain('content_block_delta')
    const seen = upstream.requests[0]!
    expect(seen.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    const contents = (seen.body as { contents: { role: string; parts: Record<string, unknown>[] }[] })
      .contents
    // The tool result is tied back to the function by name, as Gemini requires.
    expect(contents.at(-1)?.parts[0]).toMatchObject({ functionResponse: { name: 'get_weather' } })
    expect(contents[1]?.parts[0]).toMatchObject({
      functionCall: { name: 'get_weather', args: { city: 'Paris' } },
    })
  })
})
