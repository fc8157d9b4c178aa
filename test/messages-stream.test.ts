// Canonical chunks -> Anthropic stream events: golden sequences (test/fixtures/messages/streams.json),
// the SSE wire format, mid-stream errors and early stops.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { anthropicErrorType } from '../plugins/anthropic-error-type.js'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import type { Batch } from '../providers/shared/batch.js'
import { AnthropicSseEncoder } from '../routes/messages/sse.js'
import { toAnthropicEvents } from '../routes/messages/stream-events.js'
import { SseBody } from '../routes/sse.js'
import type { AnthropicStreamEvent } from '../schemas/anthropic/messages.js'
import type { ChatCompletionChunk } from '../schemas/openai/chat.js'

const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'messages', 'streams.json'), 'utf8'),
) as { cases: { name: string; chunks: ChatCompletionChunk[]; events: AnthropicStreamEvent[] }[] }

const silent = pino({ level: 'silent' })

/** The chunks as an adapter's stream: one batch (upstream read) each. */
async function* replay(
  chunks: ChatCompletionChunk[],
  failWith?: Error,
): AsyncGenerator<Batch<ChatCompletionChunk>> {
  for (const chunk of chunks) yield { items: [chunk] }
  if (failWith) throw failWith
}

/** The SSE body the route sends: the encoder over the batches, read as the response would. */
async function sseText(batches: AsyncIterable<Batch<AnthropicStreamEvent>>): Promise<string> {
  const parts: Buffer[] = []
  for await (const part of encodedBody(batches)) parts.push(part as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

const encodedBody = (batches: AsyncIterable<Batch<AnthropicStreamEvent>>) =>
  new SseBody({ socket: null, writableEnded: false }, batches, new AnthropicSseEncoder(silent))

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

const eventsOf = async <T>(batches: AsyncIterable<Batch<T>>): Promise<T[]> =>
  (await collect(batches)).flatMap((batch) => batch.items)

/** The `event:` names and the parsed `data:` of an Anthropic SSE body. */
function parseAnthropicSse(body: string): { event: string; data: { type: string } }[] {
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n')
      expect(rest).toEqual([])
      expect(eventLine).toMatch(/^event: /)
      expect(dataLine).toMatch(/^data: /)
      return { event: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) }
    })
}

describe('canonical chunks -> Anthropic events (golden sequences)', () => {
  it.each(golden.cases)('$name', async ({ chunks, events }) => {
    expect(await eventsOf(toAnthropicEvents(replay(chunks), { model: 'gpt-test' }))).toEqual(events)
  })

  it('still opens and closes the message when the upstream sent no chunk at all', async () => {
    const events = await eventsOf(toAnthropicEvents(replay([]), { model: 'up-model' }))
    expect(events.map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop'])
    expect(events[0]).toMatchObject({ message: { model: 'up-model', content: [] } })
  })
})

describe('the Anthropic SSE encoding', () => {
  it('names every event after its type, one data line each', async () => {
    const { chunks } = golden.cases[2]!
    const body = await sseText(toAnthropicEvents(replay(chunks), { model: 'm' }))
    const parsed = parseAnthropicSse(body)
    expect(parsed.every(({ event, data }) => event === data.type)).toBe(true)
    expect(parsed.map((p) => p.event)).toEqual(golden.cases[2]!.events.map((e) => e.type))
  })

  it('ends a failing stream with an error event in the Anthropic shape, and nothing after it', async () => {
    const failure = new GatewayError(503, 'up is overloaded', 'upstream_error', 'overloaded')
    const chunks = golden.cases[0]!.chunks.slice(0, 2)
    const body = await sseText(toAnthropicEvents(replay(chunks, failure), { model: 'm' }))
    const parsed = parseAnthropicSse(body)
    expect(parsed.map((p) => p.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'error',
    ])
    expect(parsed.at(-1)!.data).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'up is overloaded' },
    })
  })

  it('hides the cause of an unexpected failure behind a generic api_error', async () => {
    const body = await sseText(toAnthropicEvents(replay([], new Error('secret detail')), { model: 'm' }))
    const last = parseAnthropicSse(body).at(-1)!
    expect(last.data).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream stream failed.' },
    })
    expect(body).not.toContain('secret detail')
  })

  it('sends nothing more when the client went away', async () => {
    const body = await sseText(
      toAnthropicEvents(replay(golden.cases[0]!.chunks.slice(0, 1), new ClientAbortError()), { model: 'm' }),
    )
    const parsed = parseAnthropicSse(body)
    expect(parsed.map((p) => p.event)).toEqual(['message_start', 'ping'])
  })

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'api_error'],
  ])('status %i is the Anthropic error type %s', (status, type) => {
    expect(anthropicErrorType(status)).toBe(type)
  })
})

describe('stopping early', () => {
  it('closes the upstream iterator when the reader stops', async () => {
    let closed = false
    async function* upstream(): AsyncGenerator<Batch<ChatCompletionChunk>> {
      try {
        // Endless, like a long answer: only the reader stopping ends it.
        for (;;) yield { items: [golden.cases[0]!.chunks[1]!] }
      } finally {
        closed = true
      }
    }
    const body = encodedBody(toAnthropicEvents(upstream(), { model: 'm' }))
    const first = await body[Symbol.asyncIterator]().next()
    expect(String(first.value)).toMatch(/^event: message_start\n/)
    expect(closed).toBe(false)
    // As Fastify does when the client is gone.
    await new Promise<void>((resolve) => body.once('close', () => resolve()).destroy())
    expect(closed).toBe(true)
  })
})
