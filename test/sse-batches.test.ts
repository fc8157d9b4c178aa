// Streams move a body read at a time (providers/shared/batch.ts): the SSE reader's arrays of
// events, the OpenAI translation's batches and the encoder's one string per batch.
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import { fromOpenAIEvents } from '../providers/openai/stream.js'
import { type Batch, BatchStream, batchesOf } from '../providers/shared/batch.js'
import { readSseBatches, type SseEvent } from '../providers/shared/sse-reader.js'
import { encodeChatSse } from '../routes/sse.js'
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

const dataOf = (batches: SseEvent[][]) => batches.map((events) => events.map((e) => e.data))

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
    expect(items.map((events) => events.map((e) => [e.event, e.data]))).toEqual([
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

describe('fromOpenAIEvents', () => {
  const events = (...data: string[]) => data.map((d) => ({ data: d, event: undefined, id: undefined }))

  async function* script(...batches: SseEvent[][]): AsyncGenerator<SseEvent[]> {
    yield* batches
  }

  it('turns each read into one batch of chunks with their texts, and stops at [DONE]', async () => {
    const a = JSON.stringify(chunk('Hi'))
    const b = JSON.stringify(chunk('!', 'stop'))
    let readAfterDone = false
    async function* upstream(): AsyncGenerator<SseEvent[]> {
      yield events(a)
      yield events(b, '[DONE]')
      readAfterDone = true
      yield events(a)
    }
    const { items, error } = await collect(fromOpenAIEvents(upstream(), source))
    expect(error).toBeUndefined()
    expect(items).toEqual([
      { items: [JSON.parse(a)], texts: [a] },
      { items: [JSON.parse(b)], texts: [b] },
    ])
    expect(readAfterDone).toBe(false)
  })

  it('passes the good chunks of a read on before the error of a bad event in it', async () => {
    const good = JSON.stringify(chunk('Hi'))
    const { items, error } = await collect(
      fromOpenAIEvents(script(events(good, good, '{"choices": [', good)), source),
    )
    expect(items.map((batch) => batch.texts)).toEqual([[good, good]])
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).code).toBe('upstream_bad_response')
  })

  it('fails a stream that ends before the answer finished', async () => {
    const { error } = await collect(fromOpenAIEvents(script(events(JSON.stringify(chunk('Hi')))), source))
    expect((error as GatewayError).message).toContain('ended before the answer finished')
  })
})

describe('encodeChatSse', () => {
  async function* batches(...list: Batch<ChatCompletionChunk>[]): AsyncGenerator<Batch<ChatCompletionChunk>> {
    yield* list
  }
  const log = pino({ level: 'silent' })

  it('writes one string per batch, the kept texts as they came and others serialized', async () => {
    const kept = '{"id":"c", "choices":[]}'
    const first = chunk('a') as ChatCompletionChunk
    const second = { ...chunk('b'), choices: [] } as unknown as ChatCompletionChunk
    const seen: string[] = []
    const { items } = await collect(
      encodeChatSse(
        batches({ items: [first, second], texts: [JSON.stringify(first), kept] }, { items: [first] }),
        {
          includeUsage: false,
          log,
          taps: [{ chunk: (_chunk, json) => seen.push(json) }],
        },
      ),
    )
    expect(items).toEqual([
      `data: ${JSON.stringify(first)}\n\ndata: ${kept}\n\n`,
      `data: ${JSON.stringify(first)}\n\n`,
      'data: [DONE]\n\n',
    ])
    expect(seen).toEqual([JSON.stringify(first), kept, JSON.stringify(first)])
  })

  it('re-serializes a text of several lines, which would not fit one data line', async () => {
    const multiline = chunk('a') as ChatCompletionChunk
    const { items } = await collect(
      encodeChatSse(batches({ items: [multiline], texts: ['{\n"id": "c"}'] }), { includeUsage: false, log }),
    )
    expect(items[0]).toBe(`data: ${JSON.stringify(multiline)}\n\n`)
  })

  it('taps the usage-only chunk it leaves out, and writes nothing for a batch of only that', async () => {
    const usage = {
      ...chunk(''),
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    }
    const tapped: unknown[] = []
    const { items } = await collect(
      encodeChatSse(batches({ items: [usage as unknown as ChatCompletionChunk] }), {
        includeUsage: false,
        log,
        taps: [{ chunk: (c) => tapped.push(c) }],
      }),
    )
    expect(items).toEqual(['data: [DONE]\n\n'])
    expect(tapped).toEqual([usage])
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
