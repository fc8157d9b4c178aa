// The Anthropic adapter: the I/O around the pure translations. One UpstreamClient (an undici Pool)
// per provider entry; every call is POST {base_url}/v1/messages with x-api-key and
// anthropic-version (https://platform.claude.com/docs/en/api/overview#authentication).
import type { ProviderConfig } from '../../config/load.js'
import { unsupported, upstreamBadResponse } from '../../plugins/gateway-error.js'
import { isGlob } from '../../plugins/glob.js'
import type { ChatCompletionRequest } from '../../schemas/openai/chat.js'
import type { CallContext, Capabilities, NativeAnthropicMessages, ProviderAdapter } from '../contract.js'
import { BatchStream } from '../shared/batch.js'
import { clientKeyPolicy } from '../shared/client-key.js'
import type { SseTranslator } from '../shared/sse-reader.js'
import { translateSse, UpstreamClient, type UpstreamRefusal } from '../shared/upstream-client.js'
import { fromAnthropicError } from './errors.js'
import { AnthropicEventTranslator } from './events.js'
import { readAnthropicOptions } from './options.js'
import { answerToolName, toAnthropicRequest } from './request.js'
import { fromAnthropicMessage } from './response.js'
import { AnthropicChunkTranslator } from './stream.js'
import type { AnthropicMessage, AnthropicMessagesRequest } from './wire.js'

const messagesPath = '/v1/messages'

export const anthropicCapabilities: Capabilities = {
  chat: true,
  streaming: true,
  embeddings: false,
  tools: true,
  vision: true,
  json_schema: true,
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

export function createAnthropicAdapter(config: ProviderConfig): ProviderAdapter {
  if (!config.base_url) throw new Error(`providers.${config.name}.base_url is required`)
  const options = readAnthropicOptions(config)
  const auth: Record<string, string> = { 'anthropic-version': options.anthropic_version }
  if (config.api_key) auth['x-api-key'] = config.api_key
  const client = new UpstreamClient({
    provider: config.name,
    baseUrl: config.base_url,
    timeouts: config.timeouts,
    maxConnections: config.max_connections,
    headers: { ...config.headers, ...auth },
  })
  const clientKey = clientKeyPolicy(config, (key) => ({ 'x-api-key': key }))
  const listed = config.models.filter((m) => !isGlob(m))
  const source = (ctx: CallContext) => ({
    provider: config.name,
    model: ctx.model,
    secrets: clientKey.secretsFor(ctx),
  })

  const refusalError = (refusal: UpstreamRefusal, ctx: CallContext) =>
    fromAnthropicError({ ...source(ctx), ...refusal })

  async function readMessage(body: unknown, ctx: CallContext): Promise<AnthropicMessage> {
    const message = await client.postJson<AnthropicMessage, CallContext>(
      messagesPath,
      JSON.stringify(body),
      refusalError,
      ctx,
      clientKey.headersFor(ctx),
    )
    if (message?.type !== 'message' || !Array.isArray(message.content)) {
      throw upstreamBadResponse(config.name, 'the body was not a message with a content array')
    }
    return message
  }

  /** Resolves once the upstream accepted the stream; the events end at message_stop. */
  async function openStream<T>(
    body: unknown,
    ctx: CallContext,
    translator: SseTranslator<T>,
  ): Promise<BatchStream<T>> {
    const call = await client.post(
      messagesPath,
      JSON.stringify(body),
      ctx.signal,
      'text/event-stream',
      (refusal) => refusalError(refusal, ctx),
      clientKey.headersFor(ctx),
    )
    return new BatchStream(translateSse(call, translator))
  }

  /**
   * POST /v1/messages passthrough: the client's Anthropic request goes up unchanged but for the
   * resolved model (and `stream`, which the method decides); answers and events come back unchanged.
   */
  const anthropicMessages: NativeAnthropicMessages = {
    async create(request: AnthropicMessagesRequest, ctx: CallContext) {
      const { stream: _stream, ...rest } = request
      return readMessage({ ...rest, model: ctx.model }, ctx)
    },
    async stream(request: AnthropicMessagesRequest, ctx: CallContext) {
      return openStream(
        { ...request, model: ctx.model, stream: true },
        ctx,
        new AnthropicEventTranslator(source(ctx)),
      )
    },
  }

  return {
    name: config.name,
    type: 'anthropic',

    async chat(request: ChatCompletionRequest, ctx: CallContext) {
      const body = toAnthropicRequest(request, ctx.model, {
        provider: config.name,
        stream: false,
        defaultMaxTokens: options.default_max_tokens,
      })
      const message = await readMessage(body, ctx)
      return fromAnthropicMessage(message, { answerTool: answerToolName(request), created: nowSeconds() })
    },

    async streamChat(request, ctx) {
      const body = toAnthropicRequest(request, ctx.model, {
        provider: config.name,
        stream: true,
        defaultMaxTokens: options.default_max_tokens,
      })
      return openStream(
        body,
        ctx,
        new AnthropicChunkTranslator(source(ctx), {
          provider: config.name,
          answerTool: answerToolName(request),
          created: nowSeconds(),
        }),
      )
    },

    async embeddings(_request, _ctx) {
      throw unsupported(config.name, 'embeddings (Anthropic has no embeddings API)', 'model')
    },

    anthropicMessages,
    listModels: () => listed,
    capabilities: () => anthropicCapabilities,
    close: () => client.close(),
  }
}
