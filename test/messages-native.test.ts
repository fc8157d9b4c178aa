// The passthrough branch of POST /v1/messages: a provider with `anthropicMessages` gets the request
// as the client sent it (model swapped for the upstream one) and its answer is relayed unchanged.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { buildTestApp, listenTestApp } from './helpers/app.js'

const fixtures = join(import.meta.dirname, 'fixtures', 'messages')
const plugin = join(fixtures, 'native-provider.mjs')
const script = JSON.parse(readFileSync(join(fixtures, 'native-events.json'), 'utf8')) as { events: unknown[] }
const gatewayKey = 'sk-gateway-native'

const config = (capabilities?: Record<string, boolean>) => ({
  auth: { master_key: gatewayKey },
  providers: { native: { plugin, ...(capabilities ? { capabilities } : {}) } },
  models: [{ name: 'claude', targets: [{ provider: 'native', model: 'claude-upstream-1' }] }],
})

/** Everything Anthropic-only, which translation would refuse or leave out. */
const nativeOnly = {
  model: 'claude',
  max_tokens: 1024,
  top_k: 5,
  system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral' } }],
  thinking: { type: 'enabled', budget_tokens: 2048 },
  context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
  tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
  messages: [
    { role: 'user', content: 'q' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig-1' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found' }] },
        { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
      ],
    },
  ],
}

function parseSse(body: string): { event: string; data: Record<string, unknown> }[] {
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n')
      return { event: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) }
    })
}

describe('native Anthropic passthrough', () => {
  it('hands the provider the request as sent, with only the model replaced, and returns its message as is', async () => {
    const { app } = await buildTestApp(config())
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': gatewayKey },
      payload: nativeOnly,
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.received).toEqual({ ...nativeOnly, model: 'claude-upstream-1' })
    expect(body).toMatchObject({
      id: 'msg_native_1',
      model: 'claude-upstream-1',
      content: [{ type: 'text', text: 'native answer' }],
      usage: { input_tokens: 12, output_tokens: 2, service_tier: 'standard' },
    })
    expect(res.headers['x-anygate-provider']).toBe('native')
    expect(res.headers['x-anygate-model']).toBe('claude-upstream-1')
    expect(res.headers['x-anygate-ignored-params']).toBeUndefined()
  })

  it('relays the upstream events unchanged and in order', async () => {
    const { app } = await buildTestApp(config())
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${gatewayKey}` },
      payload: { ...nativeOnly, stream: true },
    })
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    const events = parseSse(res.body)
    expect(events.every(({ event, data }) => event === data.type)).toBe(true)
    const [start, ...rest] = events
    expect(start!.data.message).toMatchObject({
      model: 'claude-upstream-1',
      received: { ...nativeOnly, stream: true, model: 'claude-upstream-1' },
    })
    expect(rest.map((e) => e.data)).toEqual(script.events)
  })

  it('serves the official SDK, thinking signature included', async () => {
    const { origin } = await listenTestApp(config())
    const client = new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 })
    const final = await client.messages
      .stream({ model: 'native/claude-native', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
    expect(final.content).toEqual([
      { type: 'thinking', thinking: 'Short question.', signature: 'EqQBCgIYAhIM' },
      { type: 'text', text: 'native stream ✓', citations: null },
    ])
    expect(final.model).toBe('claude-native')
    expect(final.usage.output_tokens).toBe(7)
  })

  it('ends a stream that fails mid-way with an error event the SDK raises', async () => {
    const { origin } = await listenTestApp(config())
    const client = new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 })
    const stream = client.messages.stream(
      { model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-native-fail-after': '4' } },
    )
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIError)
    await expect(stream.finalMessage()).rejects.toMatchObject({
      error: { type: 'error', error: { type: 'api_error' } },
    })
  })

  it('keeps an upstream refusal status for the SDK error class', async () => {
    const { origin } = await listenTestApp(config())
    const client = new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 })
    const refused = client.messages.create(
      { model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-native-status': '429' } },
    )
    await expect(refused).rejects.toBeInstanceOf(Anthropic.RateLimitError)
    await expect(refused).rejects.toMatchObject({
      error: { type: 'error', error: { message: 'native upstream refused' } },
    })
  })

  it('checks capabilities on the Anthropic request itself', async () => {
    const { app } = await buildTestApp(config({ vision: false }))
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': gatewayKey },
      payload: {
        model: 'claude',
        max_tokens: 8,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [image] }] }],
      },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        code: 'unsupported_capability',
        message: /does not support vision/,
      },
    })
  })
})
