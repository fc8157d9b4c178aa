// The pure translations, table-driven from test/fixtures/anthropic/*.json (see its README).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import { fromAnthropicError } from '../providers/anthropic/errors.js'
import { finishReasonMap } from '../providers/anthropic/finish-reason.js'
import { readAnthropicOptions } from '../providers/anthropic/options.js'
import { type AnthropicRequestOptions, toAnthropicRequest } from '../providers/anthropic/request.js'
import { fromAnthropicMessage } from '../providers/anthropic/response.js'
import { AnthropicChunkTranslator } from '../providers/anthropic/stream.js'
import type { AnthropicMessage, AnthropicStreamEvent } from '../providers/anthropic/wire.js'
import { BatchStream } from '../providers/shared/batch.js'
import { SseBatchReader } from '../providers/shared/sse-reader.js'
import type { ChatCompletionChunk, ChatCompletionRequest } from '../schemas/openai/chat.js'
import { sseOf } from './anthropic-fake.js'

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'anthropic', name), 'utf8')) as T

const provider = 'claude'
const model = 'claude-sonnet-4-5'
const created = 1_700_000_000

interface RequestCase {
  name: string
  model?: string
  options?: Partial<AnthropicRequestOptions>
  request: ChatCompletionRequest
  expected: unknown
}

interface RequestErrorCase {
  name: string
  request: ChatCompletionRequest
  param: string
  message: string
}

interface ResponseCase {
  name: string
  answerTool?: string
  message: AnthropicMessage
  expected?: unknown
  expected_message?: unknown
  expected_finish?: string
  expected_usage?: unknown
}

interface StreamCase {
  name: string
  answerTool?: string
  split?: { every?: number; insideChars?: string[] }
  events: AnthropicStreamEvent[]
  expected: { deltas: unknown[]; finish_reason: string; usage: unknown }
}

interface ErrorCase {
  name: string
  status: number
  body: unknown
  retryAfter?: string
  expected: {
    status: number
    type: string
    code: string | null
    param: string | null
    retryAfter?: string
    message?: string
  }
}

const translate = (c: {
  request: ChatCompletionRequest
  model?: string
  options?: Partial<AnthropicRequestOptions>
}) => toAnthropicRequest(c.request, c.model ?? model, { provider, stream: false, ...c.options })

describe('anthropic request translation', () => {
  it.each(fixture<RequestCase[]>('requests.json').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(translate(c)).toEqual(c.expected)
  })

  it.each(fixture<RequestErrorCase[]>('request-errors.json').map((c) => [c.name, c] as const))(
    'refuses %s with a 400 naming the field and the provider',
    (_name, c) => {
      let thrown: unknown
      try {
        translate(c)
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(GatewayError)
      const error = thrown as GatewayError
      expect(error.statusCode).toBe(400)
      expect(error.type).toBe('invalid_request_error')
      expect(error.param).toBe(c.param)
      expect(error.message).toContain(c.message)
      expect(error.message).toContain(`"${provider}"`)
    },
  )

  it('never forwards OpenAI-only fields to Anthropic', () => {
    const body = translate({
      request: {
        model: 'x',
        messages: [{ role: 'user', content: 'hi' }],
        metadata: { team: 'a' },
        store: true,
        some_future_param: 1,
      } as ChatCompletionRequest,
    })
    expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'model'])
  })
})

describe('anthropic response translation', () => {
  it.each(fixture<ResponseCase[]>('responses.json').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const completion = fromAnthropicMessage(c.message, { answerTool: c.answerTool ?? null, created })
    if (c.expected) expect(completion).toEqual(c.expected)
    if (c.expected_message) expect(completion.choices[0]?.message).toEqual(c.expected_message)
    if (c.expected_finish) expect(completion.choices[0]?.finish_reason).toBe(c.expected_finish)
    if (c.expected_usage) expect(completion.usage).toEqual(c.expected_usage)
    expect(completion.id).toBe(c.message.id)
    expect(completion.model).toBe(c.message.model)
  })

  it('has a documentation link on every finish-reason row', () => {
    for (const [reason, row] of Object.entries(finishReasonMap)) {
      expect(row.doc, reason).toMatch(/^https:\/\/platform\.claude\.com\/docs\/en\/.+#/)
    }
  })
})

/** Cuts the UTF-8 bytes as a fixture says: every n bytes, or inside each listed character. */
function cut(bytes: Buffer, split: StreamCase['split']): Buffer[] {
  const offsets = new Set<number>()
  if (split?.every) for (let i = split.every; i < bytes.length; i += split.every) offsets.add(i)
  for (const char of split?.insideChars ?? []) {
    const encoded = Buffer.from(char, 'utf8')
    expect(encoded.length, `${char} is multi-byte`).toBeGreaterThan(1)
    const at = bytes.indexOf(encoded)
    expect(at, `${char} occurs in the stream`).toBeGreaterThanOrEqual(0)
    offsets.add(at + 1)
  }
  const sorted = [...offsets].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let start = 0
  for (const offset of [...sorted, bytes.length]) {
    parts.push(bytes.subarray(start, offset))
    start = offset
  }
  return parts
}

async function* reads(parts: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

const source = { provider, model, secrets: ['sk-ant-provider-secret-0001'] }

function chunksOf(parts: Buffer[], answerTool: string | null = null) {
  const translator = new AnthropicChunkTranslator(source, { provider, answerTool, created })
  return collect(new BatchStream(new SseBatchReader(reads(parts), translator)))
}

describe('anthropic stream translation', () => {
  it.each(fixture<StreamCase[]>('streams.json').map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const bytes = Buffer.from(c.events.map(sseOf).join(''), 'utf8')
    const parts = cut(bytes, c.split)
    if (c.split?.insideChars) {
      // The proof that a read really ends mid-character: decoded alone, it ends in U+FFFD.
      expect(parts.some((p) => new TextDecoder().decode(p).endsWith('\uFFFD'))).toBe(true)
    }
    const chunks: ChatCompletionChunk[] = await chunksOf(parts, c.answerTool ?? null)
    const start = c.events[0] as Extract<AnthropicStreamEvent, { type: 'message_start' }>
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: start.message.id,
        model: start.message.model,
        created,
        object: 'chat.completion.chunk',
      })
    }
    const usageChunk = chunks.at(-1)!
    const finishChunk = chunks.at(-2)!
    const deltaChunks = chunks.slice(0, -2)
    expect(deltaChunks.map((chunk) => chunk.choices[0]?.delta)).toEqual(c.expected.deltas)
    expect(deltaChunks.every((chunk) => chunk.choices[0]?.finish_reason === null)).toBe(true)
    expect(finishChunk.choices).toEqual([
      { index: 0, delta: {}, finish_reason: c.expected.finish_reason, logprobs: null },
    ])
    expect(usageChunk.choices).toEqual([])
    expect(usageChunk.usage).toEqual(c.expected.usage)
  })

  const begin = [
    sseOf({
      type: 'message_start',
      message: {
        id: 'msg_e',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    }),
    sseOf({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    sseOf({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
  ]

  it('throws an error event mid-stream as the gateway error its type stands for (overloaded -> 503)', async () => {
    const error = sseOf({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
    const seen: ChatCompletionChunk[] = []
    const run = async () => {
      for await (const chunk of new BatchStream(
        new SseBatchReader(
          reads([Buffer.from(begin.join('') + error)]),
          new AnthropicChunkTranslator(source, { provider, answerTool: null, created }),
        ),
      ))
        seen.push(chunk)
    }
    await expect(run()).rejects.toMatchObject({
      statusCode: 503,
      type: 'upstream_error',
      code: 'provider_overloaded',
      message: 'claude (model claude-sonnet-4-5) sent an error mid-stream (overloaded_error): Overloaded',
    })
    expect(seen.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'Hi'])
  })

  it('treats a stream that ends without message_stop as a bad upstream response', async () => {
    await expect(chunksOf([Buffer.from(begin.join(''))])).rejects.toMatchObject({
      statusCode: 502,
      code: 'upstream_bad_response',
      message: expect.stringContaining('the stream ended before message_stop'),
    })
  })

  it('refuses a delta for a block that never started, and an event before message_start', async () => {
    const stray = sseOf({ type: 'content_block_delta', index: 3, delta: { type: 'text_delta', text: 'x' } })
    await expect(chunksOf([Buffer.from(begin[0] + stray)])).rejects.toMatchObject({
      statusCode: 502,
      message: expect.stringContaining('content block 3, never started'),
    })
    await expect(chunksOf([Buffer.from(begin[1]!)])).rejects.toMatchObject({
      message: expect.stringContaining('came before message_start'),
    })
  })

  it('refuses an event that is not JSON', async () => {
    await expect(
      chunksOf([Buffer.from('event: message_start\ndata: {"type": "mess\n\n')]),
    ).rejects.toMatchObject({
      code: 'upstream_bad_response',
    })
  })
})

describe('anthropic error mapping', () => {
  it.each(fixture<ErrorCase[]>('errors.json').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const error = fromAnthropicError({
      status: c.status,
      body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      provider,
      model,
      retryAfter: c.retryAfter,
      secrets: ['sk-ant-provider-secret-0001'],
    })
    expect({ status: error.statusCode, type: error.type, code: error.code, param: error.param }).toEqual({
      status: c.expected.status,
      type: c.expected.type,
      code: c.expected.code,
      param: c.expected.param,
    })
    expect(error.headers['retry-after']).toBe(c.expected.retryAfter)
    expect(error.message).toMatch(/^claude \(model claude-sonnet-4-5\) returned \d{3}: /)
    if (c.expected.message) expect(error.message).toBe(c.expected.message)
  })
})

describe('anthropic provider options', () => {
  it('defaults anthropic-version and reads default_max_tokens, digit strings included', () => {
    expect(readAnthropicOptions({ name: 'claude', options: {} })).toEqual({ anthropic_version: '2023-06-01' })
    expect(
      readAnthropicOptions({
        name: 'claude',
        options: { anthropic_version: '2024-01-01', default_max_tokens: '2048' },
      }),
    ).toEqual({
      anthropic_version: '2024-01-01',
      default_max_tokens: 2048,
    })
  })

  it('refuses unknown and mistyped options, naming their path', () => {
    expect(() => readAnthropicOptions({ name: 'claude', options: { max_token: 5 } })).toThrow(
      'providers.claude.options.max_token: unknown option for type anthropic (known: anthropic_version, default_max_tokens)',
    )
    expect(() => readAnthropicOptions({ name: 'claude', options: { default_max_tokens: -1 } })).toThrow(
      'providers.claude.options.default_max_tokens: must be a positive integer',
    )
  })
})
