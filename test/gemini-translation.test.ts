// The pure Gemini translations, table-driven from test/fixtures/gemini/*.json (see its README).
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import { fromGeminiError } from '../providers/gemini/errors.js'
import { finishReasonMap, toFinishReason } from '../providers/gemini/finish-reason.js'
import { geminiPath, thinkingBudgets, toGeminiRequest } from '../providers/gemini/request.js'
import { fromGeminiResponse } from '../providers/gemini/response.js'
import { toGeminiSchema } from '../providers/gemini/schema-cleaner.js'
import { GeminiChunkTranslator, type StreamOptions } from '../providers/gemini/stream.js'
import type { GeminiGenerateContentResponse } from '../providers/gemini/wire.js'
import { BatchStream } from '../providers/shared/batch.js'
import { SseBatchReader } from '../providers/shared/sse-reader.js'
import type { ChatCompletionChunk, ChatCompletionRequest } from '../schemas/openai/chat.js'
import { cases, model, provider, thrown } from './fixtures/gemini/tables.js'

const created = 1_700_000_000
const responseOptions = { provider, model, created, fallbackId: 'chatcmpl-fallback' }
const streamOptions: StreamOptions = { ...responseOptions, secrets: ['AIzaSecretProviderKey-123'] }

const generatedId = /^call_[A-Za-z0-9_-]{24}$/

/** Tool call ids are hashes (tool-call-id.ts): tables write them as call_*, after checking the format. */
function maskIds(value: unknown, seen: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => maskIds(v, seen))
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      if (key === 'id' && typeof v === 'string' && v.startsWith('call_')) {
        expect(v).toMatch(generatedId)
        seen.push(v)
        return [key, 'call_*']
      }
      return [key, maskIds(v, seen)]
    }),
  )
}

describe('gemini request translation', () => {
  it.each(cases<{ name: string; request: ChatCompletionRequest; expected: unknown }>('requests.json'))(
    '%s',
    (_name, c) => {
      expect(toGeminiRequest(c.request, { provider })).toEqual(c.expected)
    },
  )

  it.each(
    cases<{ name: string; request: ChatCompletionRequest; param: string; message: string }>(
      'request-errors.json',
    ),
  )('refuses %s with a 400 naming the field and the provider', (_name, c) => {
    const error = thrown(() => toGeminiRequest(c.request, { provider }))
    expect(error.statusCode).toBe(400)
    expect(error.type).toBe('invalid_request_error')
    expect(error.param).toBe(c.param)
    expect(error.message).toContain(`"${provider}"`)
    expect(error.message).toContain(c.message)
  })

  it('maps every documented reasoning_effort to its budget, thought summaries on when thinking', () => {
    for (const [effort, budget] of Object.entries(thinkingBudgets)) {
      const body = toGeminiRequest(
        { model: 'g', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: effort },
        { provider },
      )
      expect(body.generationConfig?.thinkingConfig).toEqual(
        budget > 0 ? { thinkingBudget: budget, includeThoughts: true } : { thinkingBudget: 0 },
      )
    }
  })

  it('puts the model in the path, given bare, as models/<id> or as tunedModels/<id>, encoded', () => {
    expect(geminiPath('gemini-2.0-flash', 'generateContent')).toBe(
      '/v1beta/models/gemini-2.0-flash:generateContent',
    )
    expect(geminiPath('models/gemini-2.0-flash', 'streamGenerateContent?alt=sse')).toBe(
      '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
    )
    expect(geminiPath('tunedModels/my-model-7', 'generateContent')).toBe(
      '/v1beta/tunedModels/my-model-7:generateContent',
    )
    expect(geminiPath('a/../b?x', 'embedContent')).toBe('/v1beta/models/a%2F..%2Fb%3Fx:embedContent')
  })
})

describe('gemini schema cleaning', () => {
  it.each(cases<{ name: string; schema: unknown; expected: unknown }>('schemas.json'))('%s', (_name, c) => {
    expect(toGeminiSchema(c.schema, { provider, param: 'schema' })).toEqual(c.expected)
  })
})

describe('gemini response translation', () => {
  it.each(
    cases<{ name: string; response: GeminiGenerateContentResponse; expected: unknown }>('responses.json'),
  )('%s', (_name, c) => {
    const ids: string[] = []
    expect(maskIds(fromGeminiResponse(c.response, responseOptions), ids)).toEqual(c.expected)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('refuses a response with neither candidates nor a block reason', () => {
    const error = thrown(() => fromGeminiResponse({ usageMetadata: {} }, responseOptions))
    expect(error.statusCode).toBe(502)
    expect(error.code).toBe('upstream_bad_response')
  })

  it('makes the same tool call ids for the same answer, streamed or not, and new ones for a new answer', async () => {
    const response: GeminiGenerateContentResponse = {
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              { functionCall: { name: 'f', args: { a: 1 } } },
              { functionCall: { name: 'f', args: { a: 1 } } },
            ],
          },
          finishReason: 'STOP',
        },
      ],
      responseId: 'same',
    }
    const ids = (r: GeminiGenerateContentResponse) =>
      fromGeminiResponse(r, responseOptions).choices[0]!.message.tool_calls!.map((call) => call.id)
    const first = ids(response)
    expect(first[0]).not.toBe(first[1])
    expect(ids(response)).toEqual(first)
    expect(ids({ ...response, responseId: 'other' })).not.toEqual(first)
    const streamed: string[] = []
    for await (const chunk of new BatchStream(
      new SseBatchReader(
        splitBytes({ name: 'one event', chunks: [response as Record<string, unknown>] }),
        new GeminiChunkTranslator(streamOptions),
      ),
    )) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) streamed.push(call.id!)
    }
    expect(streamed).toEqual(first)
  })

  it('has a doc link on every finish reason row and turns a normal end with calls into tool_calls', () => {
    for (const row of Object.values(finishReasonMap))
      expect(row.doc).toMatch(/^https:\/\/ai\.google\.dev\/api\//)
    expect(toFinishReason('STOP', true)).toBe('tool_calls')
    expect(toFinishReason('MAX_TOKENS', true)).toBe('length')
    expect(toFinishReason('SAFETY', false)).toBe('content_filter')
    expect(toFinishReason(undefined, false)).toBe('stop')
  })
})

interface StreamCase {
  name: string
  split?: { every?: number; insideChars?: string[] }
  chunks: Array<Record<string, unknown> | string>
  expected?: unknown[]
  expected_error?: { status: number; code: string; message: string }
}

/** The SSE bytes of the chunks, cut every n bytes and in the middle of each listed character. */
async function* splitBytes(c: StreamCase): AsyncGenerator<Uint8Array> {
  const text = c.chunks
    .map((chunk) => `data: ${typeof chunk === 'string' ? chunk : JSON.stringify(chunk)}\r\n\r\n`)
    .join('')
  const bytes = Buffer.from(text, 'utf8')
  const cuts = new Set<number>()
  if (c.split?.every) for (let i = c.split.every; i < bytes.length; i += c.split.every) cuts.add(i)
  for (const char of c.split?.insideChars ?? []) {
    const at = bytes.indexOf(Buffer.from(char, 'utf8'))
    expect(at).toBeGreaterThanOrEqual(0)
    cuts.add(at + 1)
  }
  let start = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut)
    start = cut
  }
  yield bytes.subarray(start)
}

async function runStream(c: StreamCase): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = []
  const translator = new GeminiChunkTranslator(streamOptions)
  for await (const chunk of new BatchStream(new SseBatchReader(splitBytes(c), translator))) out.push(chunk)
  return out
}

describe('gemini stream translation', () => {
  it.each(cases<StreamCase>('streams.json'))('%s', async (_name, c) => {
    if (c.expected_error) {
      const error = await runStream(c).then(
        () => null,
        (err: unknown) => err,
      )
      expect(error).toBeInstanceOf(GatewayError)
      expect(error).toMatchObject({ statusCode: c.expected_error.status, code: c.expected_error.code })
      expect((error as Error).message).toContain(c.expected_error.message)
      return
    }
    const chunks = await runStream(c)
    // Every chunk of one stream repeats the same id, model and created.
    expect(new Set(chunks.map((chunk) => `${chunk.id}|${chunk.model}|${chunk.created}`)).size).toBe(1)
    const ids: string[] = []
    const simplified = chunks.map((chunk) =>
      chunk.choices.length === 0
        ? { usage: chunk.usage }
        : {
            index: chunk.choices[0]!.index,
            delta: chunk.choices[0]!.delta,
            finish_reason: chunk.choices[0]!.finish_reason,
          },
    )
    expect(maskIds(simplified, ids)).toEqual(c.expected)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('gemini error mapping', () => {
  it.each(
    cases<{
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
    }>('errors.json'),
  )('%s', (_name, c) => {
    const error = fromGeminiError({
      status: c.status,
      body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      provider,
      model,
      retryAfter: c.retryAfter,
      secrets: streamOptions.secrets,
    })
    expect({ status: error.statusCode, type: error.type, code: error.code, param: error.param }).toEqual({
      status: c.expected.status,
      type: c.expected.type,
      code: c.expected.code,
      param: c.expected.param,
    })
    expect(error.headers['retry-after']).toBe(c.expected.retryAfter)
    expect(error.message).toContain(`${provider} (model ${model})`)
    if (c.expected.message) expect(error.message).toContain(c.expected.message)
    expect(error.message).not.toContain('AIzaSecretProviderKey-123')
  })
})
