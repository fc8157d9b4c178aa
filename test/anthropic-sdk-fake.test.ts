// The fake Anthropic upstream is only worth its tests if it speaks the real format: the official
// @anthropic-ai/sdk, pointed straight at it, must read its answers, streams and errors as Anthropic's.
import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { anthropicMessage, startFakeAnthropic } from './anthropic-fake.js'

const apiKey = 'sk-ant-fake-key-0001'

const answer = anthropicMessage(
  [
    { type: 'thinking', thinking: 'The user wants the weather; call the tool.', signature: 'EqQBCgIYAhIM' },
    { type: 'text', text: 'Je regarde la météo à 東京 🌦️…' },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Tokyo', days: [1, 2] } },
  ],
  {
    usage: {
      input_tokens: 40,
      output_tokens: 33,
      cache_creation_input_tokens: 5,
      cache_read_input_tokens: 100,
    },
  },
)

async function setup(writeBytes?: number) {
  const upstream = await startFakeAnthropic(() => ({ message: answer }), { apiKey, writeBytes })
  const client = new Anthropic({ apiKey, baseURL: upstream.origin, maxRetries: 0 })
  const params = {
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    messages: [{ role: 'user' as const, content: 'Weather in Tokyo?' }],
  }
  return { upstream, client, params }
}

describe('the fake Anthropic upstream, read by the official Anthropic SDK', () => {
  it('answers messages.create with the message, and sees the SDK key and version header', async () => {
    const { upstream, client, params } = await setup()
    const message = await client.messages.create(params)
    expect(message).toEqual(answer)
    const [seen] = upstream.requests
    expect(seen?.url).toBe('/v1/messages')
    expect(seen?.headers.authorization).toBe(`Bearer ${apiKey}`)
    expect(seen?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('streams events that messages.stream() accumulates back into the same message', async () => {
    const { client, params } = await setup()
    const stream = client.messages.stream(params)
    const texts: string[] = []
    stream.on('text', (text) => texts.push(text))
    // parsed_output is the SDK's own addition (structured-output helpers), not part of the wire message.
    const { parsed_output: _parsed, ...final } = await stream.finalMessage()
    expect(final).toEqual(answer)
    expect(texts.length).toBeGreaterThan(1)
    expect(texts.join('')).toBe('Je regarde la météo à 東京 🌦️…')
  })

  it('stays readable when its bytes arrive 5 at a time (events and UTF-8 split across reads)', async () => {
    const { client, params } = await setup(5)
    const { parsed_output: _parsed, ...final } = await client.messages.stream(params).finalMessage()
    expect(final).toEqual(answer)
  })

  it('returns errors in the shape the SDK raises as typed API errors', async () => {
    const upstream = await startFakeAnthropic(
      () => ({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }),
      { apiKey },
    )
    const client = new Anthropic({ apiKey, baseURL: upstream.origin, maxRetries: 0 })
    const params = {
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user' as const, content: 'hi' }],
    }
    const overloaded = await client.messages.create(params).catch((err: unknown) => err)
    expect(overloaded).toBeInstanceOf(Anthropic.APIError)
    expect(overloaded).toMatchObject({
      status: 529,
      error: { type: 'error', error: { type: 'overloaded_error' } },
    })
    const wrongKey = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: upstream.origin, maxRetries: 0 })
    await expect(wrongKey.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError)
    // The real API demands max_tokens; so does the fake.
    const missing = await client.messages
      .create({ ...params, max_tokens: undefined as unknown as number })
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError)
  })

  it('sends a mid-stream error event the SDK raises', async () => {
    const upstream = await startFakeAnthropic(
      () => ({
        events: [
          { type: 'message_start', message: { ...answer, content: [], stop_reason: null } },
          { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
        ],
      }),
      { apiKey },
    )
    const client = new Anthropic({ apiKey, baseURL: upstream.origin, maxRetries: 0 })
    const stream = client.messages.stream({
      model: 'm',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'hi' }],
    })
    await expect(stream.finalMessage()).rejects.toMatchObject({
      error: { error: { type: 'overloaded_error' } },
    })
  })
})
