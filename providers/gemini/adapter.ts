// The Gemini adapter: the I/O around the pure translations. One UpstreamClient (an undici Pool) per
// provider entry; calls go to {base_url}/v1beta/models/{model}:<method> with the key in
// x-goog-api-key (https://ai.google.dev/gemini-api/docs/api-key#provide-api-key-explicitly).
import { randomUUID } from 'node:crypto'
import type { ProviderConfig } from '../../config/load.js'
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import { isGlob } from '../../plugins/glob.js'
import type { ChatCompletionRequest } from '../../schemas/openai/chat.js'
import type { EmbeddingsRequest } from '../../schemas/openai/embeddings.js'
import { type CallContext, fullCapabilities, type ProviderAdapter } from '../contract.js'
import { BatchStream } from '../shared/batch.js'
import { clientKeyPolicy } from '../shared/client-key.js'
import { translateSse, UpstreamClient, type UpstreamRefusal } from '../shared/upstream-client.js'
import {
  fromGeminiEmbeddings,
  readBatchEmbedContents,
  readEmbedContent,
  toGeminiEmbeddings,
} from './embeddings.js'
import { fromGeminiError } from './errors.js'
import { geminiPath, toGeminiRequest } from './request.js'
import { fromGeminiResponse } from './response.js'
import { GeminiChunkTranslator } from './stream.js'
import type {
  GeminiBatchEmbedContentsResponse,
  GeminiEmbedContentResponse,
  GeminiGenerateContentResponse,
} from './wire.js'

const nowSeconds = () => Math.floor(Date.now() / 1000)
const newCompletionId = () => `chatcmpl-${randomUUID()}`

export function createGeminiAdapter(config: ProviderConfig): ProviderAdapter {
  if (!config.base_url) throw new Error(`providers.${config.name}.base_url is required`)
  const client = new UpstreamClient({
    provider: config.name,
    baseUrl: config.base_url,
    timeouts: config.timeouts,
    maxConnections: config.max_connections,
    headers: { ...config.headers, ...(config.api_key ? { 'x-goog-api-key': config.api_key } : {}) },
  })
  const clientKey = clientKeyPolicy(config, (key) => ({ 'x-goog-api-key': key }))
  const listed = config.models.filter((m) => !isGlob(m))
  const source = (ctx: CallContext) => ({
    provider: config.name,
    model: ctx.model,
    secrets: clientKey.secretsFor(ctx),
  })

  const refusalError = (refusal: UpstreamRefusal, ctx: CallContext) =>
    fromGeminiError({ ...source(ctx), ...refusal })
  const postJson = <T>(path: string, body: unknown, ctx: CallContext): Promise<T> =>
    client.postJson<T, CallContext>(path, JSON.stringify(body), refusalError, ctx, clientKey.headersFor(ctx))

  return {
    name: config.name,
    type: 'gemini',

    async chat(request: ChatCompletionRequest, ctx: CallContext) {
      const body = toGeminiRequest(request, { provider: config.name })
      const response = await postJson<GeminiGenerateContentResponse>(
        geminiPath(ctx.model, 'generateContent'),
        body,
        ctx,
      )
      if (response === null || typeof response !== 'object') {
        throw upstreamBadResponse(config.name, 'the body was not a GenerateContentResponse')
      }
      return fromGeminiResponse(response, {
        provider: config.name,
        model: ctx.model,
        created: nowSeconds(),
        fallbackId: newCompletionId(),
      })
    },

    async streamChat(request, ctx) {
      const body = toGeminiRequest(request, { provider: config.name })
      const call = await client.post(
        geminiPath(ctx.model, 'streamGenerateContent?alt=sse'),
        JSON.stringify(body),
        ctx.signal,
        'text/event-stream',
        (refusal) => refusalError(refusal, ctx),
        clientKey.headersFor(ctx),
      )
      return new BatchStream(
        translateSse(
          call,
          new GeminiChunkTranslator({ ...source(ctx), created: nowSeconds(), fallbackId: newCompletionId() }),
        ),
      )
    },

    async embeddings(request: EmbeddingsRequest, ctx: CallContext) {
      const plan = toGeminiEmbeddings(request, ctx.model, config.name)
      let vectors: number[][]
      if (plan.method === 'embedContent') {
        const response = await postJson<GeminiEmbedContentResponse>(
          geminiPath(ctx.model, 'embedContent'),
          plan.body,
          ctx,
        )
        vectors = readEmbedContent(response, config.name)
      } else {
        vectors = []
        // One batch after another: parallel batches of one request would race each other into the rate limit.
        for (const batch of plan.batches) {
          const response = await postJson<GeminiBatchEmbedContentsResponse>(
            geminiPath(ctx.model, 'batchEmbedContents'),
            batch,
            ctx,
          )
          vectors.push(...readBatchEmbedContents(response, batch.requests.length, config.name))
        }
      }
      return fromGeminiEmbeddings(vectors, ctx.model, request.encoding_format)
    },

    listModels: () => listed,
    capabilities: () => fullCapabilities,
    close: () => client.close(),
  }
}
