// Streams move a body read at a time (providers/shared/batch.ts): the SSE reader's batch per read,
// as each translator makes it, and the encoder's one string per batch.
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import { OpenAIChunkTranslator } from '../providers/openai/stream.js'
import { type Batch, BatchStream, batchesOf } from '../providers/shared/batch.js'
import { SseBatchReader, type SseEvent, sseEvents } from '../providers/shared/sse-reader.js'
import { ChatSseEncoder } from '../routes/sse.js'
import type { ChatCompletionChunk } from '../schemas/openai/chat.js'

async function* reads(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part)
}

async function collect<T>(items: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
  const out: T[] = []
  try {
    for await (const item of items) out.push(item)
  } catch (error) {
    return { items: out, error }
  }
  return { items: out }
}

const readSseBatches = (body: AsyncIterable<Uint8Array>, maxEventChars?: number) =>
  new SseBatchReader(body, sseEvents, { maxEventChars })

const dataOf = (batches: Batch<SseEvent>[]) => batches.map((batch) => batch.items.map((e) => e.data))

const chunk = (content: string, finish: string | null = null) => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
})

const source = { provider: 'up', model: 'm', secrets: [] }

describe('readSseBatches', () => {
  it('yields the events each read completed, an event cut across reads with the read that ends it', async () => {
    const { items, error } = await collect(
      readSseBatches(reads('data: a\n\ndata: b\n\nda', 'ta: c', '\n\n', 'data: d\n\ndata: e\n\n')),
    )
    expect(error).toBeUndefined()
    // The stream's first event comes alone, so it can be written before the rest of its read.
    expect(dataOf(items)).toEqual([['a'], ['b'], ['c'], ['d', 'e']])
  })

  it('splits off the first event only, after reads that completed none, in LF and CRLF streams', async () => {
    const lf = await collect(
      readSseBatches(reads(': hi\n\n', 'data: a\n\ndata: b\n\ndata: c\n\n', 'data: d\n\ndata: e\n\n')),
    )
    expect(dataOf(lf.items)).toEqual([['a'], ['b', 'c'], ['d', 'e']])
    const crlf = await collect(readSseBatches(reads('data: a\r\n\r\ndata: b\r\n\r\ndata: c\r\n\r\n')))
    expect(dataOf(crlf.items)).toEqual([['a'], ['b', 'c']])
  })

  it('reads \\r\\n line endings, also cut between \\r and \\n, and joins data lines', async () => {
    const { items } = await collect(
      readSseBatches(reads('event: x\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r', '\n\r\ndata: 4\r\n\r\n')),
    )
    expect(items.map((batch) => batch.items.map((e) => [e.event, e.data]))).toEqual([
      [['x', '1\n2']],
      [
        [undefined, '3'],
        [undefined, '4'],
      ],
    ])
  })

  it('drops a leading BOM and decodes a character cut across reads', async () => {
    const bytes = Buffer.from('\uFEFFdata: é€\n\n', 'utf8')
    async function* cut(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 1)
      yield bytes.subarray(1, 10)
      yield bytes.subarray(10)
    }
    const { items } = await collect(readSseBatches(cut()))
    expect(dataOf(items)).toEqual([['é€']])
  })

  it('still stops at the event size cap, after the events before it', async () => {
    const { items, error } = await collect(
      readSseBatches(reads('data: ok\n\n', `data: ${'x'.repeat(64)}`, 'x'.repeat(64)), 100),
    )
    expect(dataOf(items)).toEqual([['ok']])
    expect((error as GatewayError).code).toBe('upstream_bad_response')
  })
})

describe('SseBatchReader with the OpenAI translator', () => {
  const reader = (body: AsyncIterable<Uint8Array>, released: boolean[] = []) =>
    new SseBatchReader(body, new OpenAIChunkTranslator(source), { release: (done) => released.push(done) })

  it('turns each read into one batch of chunks with their texts, stops at [DONE] and releases the body as completed', async () => {
    const a = JSON.stringify(chunk('Hi'))
    const b = JSON.stringify(chunk('!', 'stop'))
    let readAfterDone = false
    async function* upstream(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(`data: ${a}\n\n`)
      yield Buffer.from(`data: ${b}\n\ndata: [DONE]\n\ndata: ${a}\n\n`)
      readAfterDone = true
      yield Buffer.from(`data: ${a}\n\n`)
    }
    const released: boolean[] = []
    const { items, error } = await collect(reader(upstream(), released))
    expect(error).toBeUndefined()
    expect(items).toEqual([
      { items: [JSON.parse(a)], texts: [a] },
      { items: [JSON.parse(b)], texts: [b] },
    ])
    expect(readAfterDone).toBe(false)
    expect(released).toEqual([true])
  })

  it('passes the good chunks of a read on before the error of a bad event in it, and aborts the body', async () => {
    const good = JSON.stringify(chunk('Hi'))
    const released: boolean[] = []
    const { items, error } = await collect(
      reader(
        reads(`data: ${good}\n\n`, `data: ${good}\n\ndata: {"choices": [\n\ndata: ${good}\n\n`),
        released,
      ),
    )
    expect(items.map((batch) => batch.texts)).toEqual([[good], [good]])
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).code).toBe('upstream_bad_response')
    expect(released).toEqual([false])
  })

  it('fails a stream that ends before the answer finished, and takes one without [DONE] that finished', async () => {
    const { error } = await collect(reader(reads(`data: ${JSON.stringify(chunk('Hi'))}\n\n`)))
    expect((error as GatewayError).message).toContain('ended before the answer finished')
    const finished = await collect(reader(reads(`data: ${JSON.stringify(chunk('Hi', 'stop'))}\n\n`)))
    expect(finished.error).toBeUndefined()
    expect(finished.items).toHaveLength(1)
  })

  it('maps failures through the call, and releases the body unfinished once when returned early', async () => {
    const released: boolean[] = []
    const mapped = new GatewayError(502, 'mapped', 'upstream_error', 'upstream_stream_error')
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(`data: ${JSON.stringify(chunk('Hi'))}\n\n`)
      throw new Error('socket reset')
    }
    const failing = new SseBatchReader(broken(), new OpenAIChunkTranslator(source), {
      mapError: () => mapped,
      release: (done) => released.push(done),
    })
    expect((await collect(failing)).error).toBe(mapped)
    expect(released).toEqual([false])

    const returned: boolean[] = []
    const early = reader(reads(`data: ${JSON.stringify(chunk('Hi'))}\n\n`, 'data: '), returned)
    expect((await early.next()).done).toBe(false)
    await early.return()
    await early.return()
    expect(await early.next()).toEqual({ done: true, value: undefined })
    expect(returned).toEqual([false])
  })
})

describe('ChatSseEncoder', () => {
  const log = pino({ level: 'silent' })

  it('writes one string per batch, the kept texts as they came and others serialized, then [DONE]', () => {
    const kept = '{"id":"c", "choices":[]}'
    const first = chunk('a') as ChatCompletionChunk
    const second = { ...chunk('b'), choices: [] } as unknown as ChatCompletionChunk
    const seen: string[] = []
    const ends: boolean[] = []
    const encoder = new ChatSseEncoder({
      includeUsage: false,
      log,
      taps: [{ chunk: (_chunk, json) => seen.push(json), end: (completed) => ends.push(completed) }],
    })
    expect(encoder.batch({ items: [first, second], texts: [JSON.stringify(first), kept] })).toBe(
      `data: ${JSON.stringify(first)}\n\ndata: ${kept}\n\n`,
    )
    expect(encoder.batch({ items: [first] })).toBe(`data: ${JSON.stringify(first)}\n\n`)
    expect(encoder.completed()).toBe('data: [DONE]\n\n')
    encoder.closed(true)
    expect(seen).toEqual([JSON.stringify(first), kept, JSON.stringify(first)])
    expect(ends).toEqual([true])
  })

  it('re-serializes a text of several lines, which would not fit one data line', () => {
    const multiline = chunk('a') as ChatCompletionChunk
    const encoder = new ChatSseEncoder({ includeUsage: false, log })
    expect(encoder.batch({ items: [multiline], texts: ['{\n"id": "c"}'] })).toBe(
      `data: ${JSON.stringify(multiline)}\n\n`,
    )
  })

  it('taps the usage-only chunk it leaves out, and writes nothing for a batch of only that', () => {
    const usage = {
      ...chunk(''),
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    }
    const tapped: unknown[] = []
    const encoder = new ChatSseEncoder({ includeUsage: false, log, taps: [{ chunk: (c) => tapped.push(c) }] })
    expect(encoder.batch({ items: [usage as unknown as ChatCompletionChunk] })).toBe('')
    expect(tapped).toEqual([usage])
  })

  it('ends a failed stream with an error event in the OpenAI shape, and a client abort with nothing', () => {
    const codes: string[] = []
    const encoder = new ChatSseEncoder({ includeUsage: false, log, onError: (code) => codes.push(code) })
    expect(encoder.failed(new ClientAbortError())).toBe('')
    const event = encoder.failed(new Error('secret detail'))
    expect(JSON.parse(event.slice('data: '.length))).toEqual({
      error: expect.objectContaining({
        message: 'The upstream stream failed.',
        code: 'upstream_stream_error',
      }),
    })
    expect(event).not.toContain('secret detail')
    expect(codes).toEqual(['upstream_stream_error'])
  })
})

describe('BatchStream', () => {
  it('is read item by item as the provider contract types it, and in batches by batchesOf', async () => {
    async function* source(): AsyncGenerator<Batch<number>> {
      yield { items: [1, 2] }
      yield { items: [3] }
    }
    expect((await collect(new BatchStream(source()))).items).toEqual([1, 2, 3])
    expect((await collect(batchesOf(new BatchStream(source())))).items).toEqual([
      { items: [1, 2] },
      { items: [3] },
    ])
  })

  it('makes a batch of each item of a stream from elsewhere', async () => {
    async function* items(): AsyncGenerator<string> {
      yield 'a'
      yield 'b'
    }
    expect((await collect(batchesOf(items()))).items).toEqual([{ items: ['a'] }, { items: ['b'] }])
  })
})
