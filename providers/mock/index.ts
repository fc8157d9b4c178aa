// The built-in offline provider: answers in process, deterministically. The embedded default config
// serves it, and tests use it as the double for a real upstream (latency, streaming, failures).
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { ClientAbortError, GatewayError, invalidRequest } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk } from '../../schemas/openai/chat.js'
import type { EmbeddingsResponse } from '../../schemas/openai/embeddings.js'
import { type CallContext, fullCapabilities, type ProviderAdapter } from '../contract.js'
import { fromOpenAIError } from '../openai/errors.js'
import { type MockControls, type MockOptions, readMockControls } from './controls.js'
import {
  encodeFloat32Base64,
  estimateTokens,
  mockEmbedding,
  mockModels,
  planMockAnswer,
  toMockChunks,
  toMockCompletion,
} from './responder.js'

/** The largest embedding the mock makes: above any real model's (3,072 for text-embedding-3-large). */
const maxMockDimensions = 8192

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return
  try {
    await sleep(ms, undefined, { signal })
  } catch {
    throw new ClientAbortError()
  }
}

function injectedError(controls: MockControls, name: string, ctx: CallContext): GatewayError | null {
  if (controls.errorStatus === null) return null
  return fromOpenAIError({
    status: controls.errorStatus,
    body: JSON.stringify({ error: { message: 'injected by the mock provider' } }),
    provider: name,
    model: ctx.model,
    retryAfter: controls.errorStatus === 429 ? '1' : undefined,
    secrets: [],
  })
}

export function createMockAdapter(config: ProviderConfig): ProviderAdapter {
  const options = config.options as MockOptions
  const meta = (ctx: CallContext, n: number | null | undefined) => ({
    id: `chatcmpl-mock-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    n: n ?? 1,
  })
  const begin = async (ctx: CallContext) => {
    const controls = readMockControls(ctx, options)
    await pause(controls.latencyMs, ctx.signal)
    const error = injectedError(controls, config.name, ctx)
    if (error) throw error
    return controls
  }

  return {
    name: config.name,
    type: 'mock',

    async chat(request, ctx) {
      const controls = await begin(ctx)
      return toMockCompletion(planMockAnswer(request, ctx.model, controls.response), meta(ctx, request.n))
    },

    async streamChat(request, ctx) {
      const controls = await begin(ctx)
      const chunks = toMockChunks(planMockAnswer(request, ctx.model, controls.response), meta(ctx, request.n))
      return (async function* (): AsyncGenerator<ChatCompletionChunk> {
        let sent = 0
        for (const chunk of chunks) {
          if (controls.failAfterChunks !== null && sent >= controls.failAfterChunks) {
            throw new GatewayError(
              502,
              `${config.name} (model ${ctx.model}) failed mid-stream (injected by x-mock-fail-after).`,
              'upstream_error',
              'upstream_stream_error',
            )
          }
          if (sent > 0) await pause(controls.chunkDelayMs, ctx.signal)
          if (ctx.signal.aborted) throw new ClientAbortError()
          sent++
          yield chunk
        }
      })()
    },

    async embeddings(request, ctx): Promise<EmbeddingsResponse> {
      await begin(ctx)
      const inputs: (string | number[])[] =
        typeof request.input === 'string'
          ? [request.input]
          : (request.input as (string | number | number[])[]).every((x) => typeof x === 'number')
            ? [request.input as number[]]
            : (request.input as (string | number[])[])
      const dimensions = request.dimensions ?? options.dimensions ?? 16
      // The schema sets no maximum (OpenAI's does not): without one, a request for millions of
      // dimensions would build a vector that takes the whole process down.
      if (dimensions > maxMockDimensions)
        throw invalidRequest(
          `Invalid 'dimensions': the mock provider makes at most ${maxMockDimensions}.`,
          'dimensions',
          'invalid_value',
        )
      const tokens = inputs.reduce<number>(
        (sum, input) => sum + (typeof input === 'string' ? estimateTokens(input) : input.length),
        0,
      )
      return {
        object: 'list',
        model: ctx.model,
        data: inputs.map((input, index) => {
          const vector = mockEmbedding(input, dimensions)
          return {
            object: 'embedding' as const,
            index,
            embedding: request.encoding_format === 'base64' ? encodeFloat32Base64(vector) : vector,
          }
        }),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }
    },

    listModels: () => [...mockModels],
    capabilities: () => fullCapabilities,
  }
}

export default fp(
  async (app, opts: ProviderConfig) => {
    app.providers.add(opts.name, createMockAdapter(opts))
  },
  {
    name: 'anygate-provider-mock',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
