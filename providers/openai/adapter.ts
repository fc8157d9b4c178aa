// The adapter for every OpenAI-compatible upstream. A dialect says where the endpoints are and how
// the key is sent, which is all that differs between OpenAI, Ollama, vLLM, Groq... and Azure.
import type { ProviderConfig } from '../../config/load.js'
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import { isGlob } from '../../plugins/glob.js'
import type { ChatCompletion, ChatCompletionRequest } from '../../schemas/openai/chat.js'
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../schemas/openai/embeddings.js'
import { type CallContext, fullCapabilities, type ProviderAdapter } from '../contract.js'
import { BatchStream } from '../shared/batch.js'
import { clientKeyPolicy } from '../shared/client-key.js'
import { translateSse, UpstreamClient, type UpstreamRefusal } from '../shared/upstream-client.js'
import { fromOpenAIError } from './errors.js'
import { toOpenAIChatBody, toOpenAIEmbeddingsBody } from './request.js'
import { OpenAIChunkTranslator } from './stream.js'

export interface OpenAIDialect {
  type: string
  chatPath(model: string): string
  embeddingsPath(model: string): string
  authHeaders(apiKey: string | undefined): Record<string, string>
  modelInBody: boolean
  /** Send the answer cap as max_tokens only (servers that ignore max_completion_tokens). */
  legacyMaxTokens?: boolean
}

export const openAIDialect: OpenAIDialect = {
  type: 'openai',
  chatPath: () => '/chat/completions',
  embeddingsPath: () => '/embeddings',
  authHeaders: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  modelInBody: true,
}

export function createOpenAIAdapter(config: ProviderConfig, dialect: OpenAIDialect): ProviderAdapter {
  if (!config.base_url) throw new Error(`providers.${config.name}.base_url is required`)
  const client = new UpstreamClient({
    provider: config.name,
    baseUrl: config.base_url,
    timeouts: config.timeouts,
    maxConnections: config.max_connections,
    headers: { ...config.headers, ...dialect.authHeaders(config.api_key) },
  })
  const clientKey = clientKeyPolicy(config, dialect.authHeaders)
  const streamUsage = config.options.stream_usage !== false
  const listed = config.models.filter((m) => !isGlob(m))

  const refusalError = (refusal: UpstreamRefusal, ctx: CallContext) =>
    fromOpenAIError({
      ...refusal,
      provider: config.name,
      model: ctx.model,
      secrets: clientKey.secretsFor(ctx),
    })
  const postJson = <T>(path: string, body: string, ctx: CallContext) =>
    client.postJson<T, CallContext>(path, body, refusalError, ctx, clientKey.headersFor(ctx), true)

  return {
    name: config.name,
    type: dialect.type,

    async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
      const body = toOpenAIChatBody(request, {
        model: ctx.model,
        stream: false,
        streamUsage,
        includeModel: dialect.modelInBody,
        legacyMaxTokens: dialect.legacyMaxTokens,
      })
      // The answer is passed on as it came: its text is kept for the route to send (raw-json.ts).
      const completion = await postJson<ChatCompletion>(dialect.chatPath(ctx.model), body, ctx)
      if (!Array.isArray(completion?.choices)) {
        throw upstreamBadResponse(config.name, 'the completion had no choices array')
      }
      return completion
    },

    async streamChat(request, ctx) {
      const body = toOpenAIChatBody(request, {
        model: ctx.model,
        stream: true,
        streamUsage,
        includeModel: dialect.modelInBody,
        legacyMaxTokens: dialect.legacyMaxTokens,
      })
      const call = await client.post(
        dialect.chatPath(ctx.model),
        body,
        ctx.signal,
        'text/event-stream',
        (refusal) => refusalError(refusal, ctx),
        clientKey.headersFor(ctx),
      )
      return new BatchStream(
        translateSse(
          call,
          new OpenAIChunkTranslator({
            provider: config.name,
            model: ctx.model,
            secrets: clientKey.secretsFor(ctx),
          }),
        ),
      )
    },

    async embeddings(request: EmbeddingsRequest, ctx: CallContext): Promise<EmbeddingsResponse> {
      const body = toOpenAIEmbeddingsBody(request, ctx.model, dialect.modelInBody)
      const response = await postJson<EmbeddingsResponse>(dialect.embeddingsPath(ctx.model), body, ctx)
      if (!Array.isArray(response?.data))
        throw upstreamBadResponse(config.name, 'the response had no data array')
      return response
    },

    listModels: () => listed,
    capabilities: () => fullCapabilities,
    close: () => client.close(),
  }
}
