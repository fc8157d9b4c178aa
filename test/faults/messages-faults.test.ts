// Faults on POST /v1/messages: the client gets Anthropic-shaped errors ({"type": "error", "error":
// {"type", "message", ...}}), or, once the stream started, a final `event: error` and no
// message_stop. Both paths: a native Anthropic upstream (passthrough) and an OpenAI one (translated).
import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { anthropicMessage, errorBody, sseOf, toEvents } from '../anthropic-fake.js'
import { type RecordedRequest, sendJson } from '../helpers/fake-upstream.js'
import type { Gateway } from '../limits-helpers.js'
import {
  type Answer,
  expectIdle,
  type Fault,
  faultConfig,
  healthy,
  post,
  resetMidBody,
  type SwitchableUpstream,
  shortTimeouts,
  stallAfterHeaders,
  startFaultGateway,
  startSwitchableUpstream,
  upstreamSecret,
  wantsStream,
} from './fault-kit.js'

const marginMs = 2500

const messagesRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hello' }],
  ...extra,
})

const postMessages = (gateway: Gateway, extra: Record<string, unknown> = {}) =>
  post(gateway, '/v1/messages', messagesRequest(extra))

/** `event:` name and parsed `data:` of each SSE block. */
function anthropicEvents(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n')
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? ''
      const data = lines.find((l) => l.startsWith('data: '))?.slice('data: '.length) ?? '{}'
      return { event, data: JSON.parse(data) }
    })
}

const startSse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' })

/** A correct Anthropic answer, JSON or the full event sequence. */
const anthropicHealthy =
  (text = 'healthy'): Fault =>
  (req, res) => {
    const message = anthropicMessage([{ type: 'text', text }])
    if (!wantsStream(req)) return sendJson(res, 200, message)
    startSse(res)
    for (const event of toEvents(message)) res.write(sseOf(event))
    res.end()
  }

/** The first events of a stream: message_start, ping, content_block_start and one text delta. */
const opening = toEvents(anthropicMessage([{ type: 'text', text: 'Hel' }]), 8).slice(0, 4)

function writeOpening(res: ServerResponse): void {
  for (const event of opening) res.write(sseOf(event))
}

const anthropicMalformed: Fault = (req: RecordedRequest, res) => {
  if (!wantsStream(req)) {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"type": "message", "content": [')
    return
  }
  startSse(res)
  writeOpening(res)
  res.end('event: content_block_delta\ndata: {"type": "content_block_delta", index: 0}\n\n')
}

const anthropicTruncated: Fault = (_req, res) => {
  startSse(res)
  writeOpening(res)
  const next = sseOf({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } })
  res.end(next.slice(0, next.indexOf('text_delta')))
}

const anthropicOverloaded: Fault = (_req, res) =>
  sendJson(res, 429, errorBody('rate_limit_error', 'Number of request tokens has exceeded your rate limit'), {
    'retry-after': '1',
  })

/** The Anthropic error body the gateway answers with, with the fields a test states. */
const anthropicError = (type: string, code: string | null) => ({
  type: 'error',
  error: { type, message: expect.any(String), param: null, code },
})

async function expectMessagesServed(gateway: Gateway, upstream: SwitchableUpstream, fault: Fault) {
  upstream.set(fault)
  const json = await postMessages(gateway)
  expect(json.status, json.text).toBe(200)
  expect(JSON.parse(json.text).content).toEqual([{ type: 'text', text: 'recovered' }])
  const stream = await postMessages(gateway, { stream: true })
  expect(stream.status, stream.text).toBe(200)
  expect(anthropicEvents(stream.text).at(-1)?.event).toBe('message_stop')
}

function expectCleanHttpError(answer: Answer, status: number, type: string, code: string) {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get('content-type')).toContain('application/json')
  expect(JSON.parse(answer.text)).toEqual(anthropicError(type, code))
  expect(answer.text).not.toContain(upstreamSecret)
}

function expectStreamErrorEvent(answer: Answer, type: string) {
  expect(answer.status).toBe(200)
  const events = anthropicEvents(answer.text)
  // Relayed as the upstream sent them, then the error, and nothing after it.
  expect(events.slice(0, -1).map((e) => e.data)).toEqual(opening)
  expect(events.at(-1)).toEqual({
    event: 'error',
    data: { type: 'error', error: { type, message: expect.any(String) } },
  })
  expect(events.map((e) => e.event)).not.toContain('message_stop')
  expect(answer.text).not.toContain(upstreamSecret)
}

describe('/v1/messages on a native Anthropic upstream', () => {
  async function setup(fault: Fault) {
    const upstream = await startSwitchableUpstream()
    upstream.set(fault)
    const gateway = await startFaultGateway(
      faultConfig({ claude: upstream }, { types: { claude: 'anthropic' } }),
    )
    return { upstream, gateway }
  }

  it('malformed JSON: 502 api_error, retried once', async () => {
    const { upstream, gateway } = await setup(anthropicMalformed)
    const answer = await postMessages(gateway)
    expectCleanHttpError(answer, 502, 'api_error', 'upstream_bad_response')
    expect(upstream.requests).toHaveLength(2)
    expect(answer.ms).toBeLessThan(marginMs)
    await expectIdle(gateway, ['claude/m'])
    await expectMessagesServed(gateway, upstream, anthropicHealthy('recovered'))
  })

  it('malformed JSON mid-stream: the events so far, then one error event; no retry', async () => {
    const { upstream, gateway } = await setup(anthropicMalformed)
    const answer = await postMessages(gateway, { stream: true })
    expectStreamErrorEvent(answer, 'api_error')
    expect(upstream.requests).toHaveLength(1)
    await expectIdle(gateway, ['claude/m'])
    await expectMessagesServed(gateway, upstream, anthropicHealthy('recovered'))
  })

  it('SSE truncated mid-event: one error event, no message_stop, no retry', async () => {
    const { upstream, gateway } = await setup(anthropicTruncated)
    const answer = await postMessages(gateway, { stream: true })
    expectStreamErrorEvent(answer, 'api_error')
    expect(upstream.requests).toHaveLength(1)
    await expectIdle(gateway, ['claude/m'])
    await expectMessagesServed(gateway, upstream, anthropicHealthy('recovered'))
  })

  it('stall after headers: 504 within the first-byte timeouts of both attempts', async () => {
    const { upstream, gateway } = await setup(stallAfterHeaders())
    const answer = await postMessages(gateway, { stream: true })
    expectCleanHttpError(answer, 504, 'api_error', 'upstream_timeout')
    expect(upstream.requests).toHaveLength(2)
    expect(answer.ms).toBeLessThan(2 * shortTimeouts.first_byte_ms + marginMs)
    await expectIdle(gateway, ['claude/m'])
    await expectMessagesServed(gateway, upstream, anthropicHealthy('recovered'))
  })

  it('a flood of 429s: rate_limit_error with Retry-After, after waiting it out once', async () => {
    const { upstream, gateway } = await setup(anthropicOverloaded)
    const answer = await postMessages(gateway)
    expect(answer.status).toBe(429)
    expect(answer.headers.get('retry-after')).toBe('1')
    expect(JSON.parse(answer.text)).toEqual(anthropicError('rate_limit_error', 'rate_limit_exceeded'))
    expect(upstream.requests).toHaveLength(2)
    expect(answer.ms).toBeGreaterThanOrEqual(1000)
    await expectIdle(gateway, ['claude/m'])
    await expectMessagesServed(gateway, upstream, anthropicHealthy('recovered'))
  })
})

describe('/v1/messages translated to an OpenAI upstream', () => {
  it('reset mid-stream: the Anthropic events so far, then an api_error event', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(resetMidBody(2))
    const gateway = await startFaultGateway(faultConfig({ gpt: upstream }))
    const answer = await postMessages(gateway, { stream: true })
    expect(answer.status).toBe(200)
    const events = anthropicEvents(answer.text)
    expect(events[0]?.event).toBe('message_start')
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'api_error', message: expect.any(String) } },
    })
    expect(events.map((e) => e.event)).not.toContain('message_stop')
    expect(upstream.requests).toHaveLength(1)
    await expectIdle(gateway, ['gpt/m'])
    await expectMessagesServed(gateway, upstream, healthy('recovered'))
  })

  it('stall after headers (JSON): a 504 Anthropic error within the timeouts', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(stallAfterHeaders())
    const gateway = await startFaultGateway(faultConfig({ gpt: upstream }))
    const answer = await postMessages(gateway)
    expectCleanHttpError(answer, 504, 'api_error', 'upstream_timeout')
    expect(upstream.requests).toHaveLength(2)
    expect(answer.ms).toBeLessThan(2 * shortTimeouts.first_byte_ms + marginMs)
    await expectIdle(gateway, ['gpt/m'])
    await expectMessagesServed(gateway, upstream, healthy('recovered'))
  })
})
