// The native Anthropic passthrough (adapter.anthropicMessages) the inbound /v1/messages route uses:
// the request goes up unchanged but for the model, the answer and the events come back unchanged.
import { describe, expect, it } from 'vitest'
import type { CallContext } from '../providers/contract.js'
import type { AnthropicMessagesRequest, AnthropicStreamEvent } from '../schemas/anthropic/messages.js'
import { anthropicMessage, type FakeScript, toEvents } from './anthropic-fake.js'
import { startAnthropicGateway } from './anthropic-gateway.js'

const answer = anthropicMessage(
  [
    { type: 'thinking', thinking: 'Hmm.', signature: 'sig' },
    { type: 'text', text: 'Voilà — 完了 ✅' },
    { type: 'tool_use', id: 'toolu_n', name: 'lookup', input: { q: 'x' } },
  ],
  {
    usage: { input_tokens: 9, output_tokens: 20, cache_read_input_tokens: 3, cache_creation_input_tokens: 1 },
  },
)

// Fields the OpenAI shape has no room for: the passthrough must keep every one.
const request = {
  model: 'public-name',
  max_tokens: 300,
  system: [{ type: 'text', text: 'Be precise.', cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Look up x' }] }],
  tools: [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
  tool_choice: { type: 'auto' },
  top_k: 5,
  thinking: { type: 'enabled', budget_tokens: 1024 },
  metadata: { user_id: 'u-1' },
  container: 'container_01',
} as unknown as AnthropicMessagesRequest

async function native(script: FakeScript, writeBytes?: number) {
  const setup = await startAnthropicGateway(script, {}, { writeBytes })
  const adapter = setup.gateway.app.providers.get('claude')!
  const ctx: CallContext = {
    model: 'claude-opus-4-1',
    signal: new AbortController().signal,
    requestId: 'req-native-1',
    log: setup.gateway.app.log,
    headers: {},
  }
  return { ...setup, messages: adapter.anthropicMessages!, ctx }
}

async function collect(events: AsyncIterable<AnthropicStreamEvent>) {
  const out: AnthropicStreamEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

describe('anthropic native passthrough', () => {
  it('create: sends the request unchanged but for the model, returns the message unchanged', async () => {
    const { messages, ctx, upstream } = await native(() => ({ message: answer }))
    const message = await messages.create({ ...request, stream: true }, ctx)
    expect(message).toEqual(answer)
    const { stream: _stream, ...rest } = { ...request, stream: true }
    expect(upstream.requests[0]?.body).toEqual({ ...rest, model: 'claude-opus-4-1' })
    expect(upstream.requests[0]?.headers['anthropic-version']).toBe('2023-06-01')
  })

  it('stream: yields the parsed events unchanged, pings included, from a byte-split upstream', async () => {
    const { messages, ctx, upstream } = await native(() => ({ message: answer }), 7)
    const events = await collect(await messages.stream(request, ctx))
    expect(events).toEqual(toEvents(answer))
    expect(events.some((e) => e.type === 'ping')).toBe(true)
    expect(upstream.requests[0]?.body).toEqual({ ...request, model: 'claude-opus-4-1', stream: true })
  })

  it('stream: an error event is thrown as the mapped gateway error after the events before it', async () => {
    const events = toEvents(answer).slice(0, 4)
    const { messages, ctx } = await native(() => ({
      events: [...events, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }],
    }))
    const seen: AnthropicStreamEvent[] = []
    const read = async () => {
      for await (const event of await messages.stream(request, ctx)) seen.push(event)
    }
    await expect(read()).rejects.toMatchObject({
      statusCode: 502,
      code: 'upstream_error',
      message: 'claude (model claude-opus-4-1) sent an error mid-stream (api_error): Internal server error',
    })
    expect(seen).toEqual(events)
  })

  it('create and stream: upstream HTTP errors are gateway errors before any event', async () => {
    const { messages, ctx } = await native(() => ({
      error: { status: 429, type: 'rate_limit_error', message: 'slow down', headers: { 'retry-after': '9' } },
    }))
    await expect(messages.create(request, ctx)).rejects.toMatchObject({
      statusCode: 429,
      headers: { 'retry-after': '9' },
    })
    await expect(messages.stream(request, ctx)).rejects.toMatchObject({
      statusCode: 429,
      type: 'rate_limit_error',
    })
  })

  it('create: a 200 that is not a message is a bad upstream response', async () => {
    const { messages, ctx } = await native(() => ({ message: { hello: 'world' } as never }))
    await expect(messages.create(request, ctx)).rejects.toMatchObject({
      statusCode: 502,
      code: 'upstream_bad_response',
    })
  })
})
