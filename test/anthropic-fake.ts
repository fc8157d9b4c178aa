// A loopback Anthropic Messages API: it checks what the real one checks first (x-api-key,
// anthropic-version, the required body fields), answers scripted messages as JSON or as the real
// SSE event sequence (`event:` + `data:` lines), and records every request. The official
// @anthropic-ai/sdk reads it (test/anthropic-sdk-fake.test.ts), which is what makes it faithful.
// Errors: https://platform.claude.com/docs/en/api/errors; streaming:
// https://platform.claude.com/docs/en/build-with-claude/streaming
import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicStreamEvent,
} from '../schemas/anthropic/messages.js'
import {
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  startFakeUpstream,
} from './helpers/fake-upstream.js'

export type FakeReply =
  /** Sent as JSON, or as its event sequence when the request streams. */
  | { message: AnthropicMessage }
  /** A scripted stream, sent as is (an object is one event; a string is raw SSE text). */
  | { events: Array<AnthropicStreamEvent | Record<string, unknown> | string>; end?: boolean }
  | { error: { status: number; type: string; message: string; headers?: Record<string, string> } }
  /** Anything else, written by hand: what a broken proxy in front of Anthropic might send. */
  | { raw: (res: ServerResponse) => void }

export type FakeScript = (body: AnthropicMessagesRequest, req: RecordedRequest) => FakeReply

export interface FakeAnthropicOptions {
  /** The key the fake accepts (as x-api-key, or as a Bearer token). */
  apiKey: string
  /** Stream writes of at most this many bytes, with a pause between, so reads split anywhere. */
  writeBytes?: number
}

export const fakeRequestId = 'req_011CFakeAnthropic'

export function errorBody(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: fakeRequestId }
}

/** An Anthropic message with the usual defaults; `content` and what differs come from the caller. */
export function anthropicMessage(content: AnthropicContentBlock[], extra: Partial<AnthropicMessage> = {}) {
  const message: AnthropicMessage = {
    id: 'msg_01FakeAnthropic',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content,
    stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 21, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    ...extra,
  }
  return message
}

const pieces = (text: string, size: number) => {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/**
 * The events Anthropic streams for a message: message_start with empty content and the input
 * usage, each block as start / deltas / stop, a ping, message_delta with the stop reason and the
 * cumulative output count, message_stop.
 */
export function toEvents(message: AnthropicMessage, pieceSize = 4): AnthropicStreamEvent[] {
  const events: AnthropicStreamEvent[] = [
    {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...message.usage, output_tokens: 1 },
      },
    },
    { type: 'ping' },
  ]
  message.content.forEach((block, index) => {
    const push = (delta: Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>['delta']) =>
      events.push({ type: 'content_block_delta', index, delta })
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
      for (const text of pieces(block.text, pieceSize)) push({ type: 'text_delta', text })
    } else if (block.type === 'tool_use') {
      events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } })
      for (const partial_json of pieces(JSON.stringify(block.input), pieceSize))
        push({ type: 'input_json_delta', partial_json })
    } else if (block.type === 'thinking') {
      events.push({
        type: 'content_block_start',
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      })
      for (const thinking of pieces(block.thinking, pieceSize)) push({ type: 'thinking_delta', thinking })
      push({ type: 'signature_delta', signature: block.signature ?? '' })
    } else {
      events.push({ type: 'content_block_start', index, content_block: block })
    }
    events.push({ type: 'content_block_stop', index })
  })
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
      usage: { output_tokens: message.usage.output_tokens },
    },
    { type: 'message_stop' },
  )
  return events
}

export const sseOf = (event: { type: string } | Record<string, unknown>) =>
  `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`

async function writeStream(res: ServerResponse, text: string, writeBytes: number | undefined, end: boolean) {
  const bytes = Buffer.from(text, 'utf8')
  const size = writeBytes ?? bytes.length
  for (let i = 0; i < bytes.length && !res.destroyed; i += size) {
    res.write(bytes.subarray(i, i + size))
    if (writeBytes) await sleep(1)
  }
  if (end) res.end()
}

function refuse(
  req: RecordedRequest,
  apiKey: string,
): (ReturnType<typeof errorBody> & { status: number }) | null {
  if (req.method !== 'POST' || req.url !== '/v1/messages') {
    return { status: 404, ...errorBody('not_found_error', 'Not Found') }
  }
  // x-api-key is what the gateway sends; the 1.x SDKs send the same key as a Bearer token.
  const key = req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer /, '')
  if (key !== apiKey) {
    return { status: 401, ...errorBody('authentication_error', 'invalid x-api-key') }
  }
  if (!req.headers['anthropic-version']) {
    return { status: 400, ...errorBody('invalid_request_error', 'anthropic-version: header is required') }
  }
  const body = req.body as Partial<AnthropicMessagesRequest> | undefined
  for (const field of ['model', 'max_tokens', 'messages'] as const) {
    if (body?.[field] === undefined)
      return { status: 400, ...errorBody('invalid_request_error', `${field}: Field required`) }
  }
  return null
}

export async function startFakeAnthropic(
  script: FakeScript,
  options: FakeAnthropicOptions,
): Promise<FakeUpstream> {
  return startFakeUpstream(async (req, res) => {
    const refused = refuse(req, options.apiKey)
    if (refused) {
      const { status, ...body } = refused
      return sendJson(res, status, body, { 'request-id': fakeRequestId })
    }
    const body = req.body as AnthropicMessagesRequest
    const reply = script(body, req)
    if ('raw' in reply) return reply.raw(res)
    if ('error' in reply) {
      const { status, type, message, headers } = reply.error
      return sendJson(res, status, errorBody(type, message), { 'request-id': fakeRequestId, ...headers })
    }
    if ('message' in reply && !body.stream) {
      return sendJson(res, 200, reply.message, { 'request-id': fakeRequestId })
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': fakeRequestId,
    })
    const events = 'message' in reply ? toEvents(reply.message) : reply.events
    const text = events.map((e) => (typeof e === 'string' ? e : sseOf(e))).join('')
    await writeStream(res, text, options.writeBytes, 'message' in reply || reply.end !== false)
  })
}
