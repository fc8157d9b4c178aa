// The one contract every provider plugin implements, built-in or third-party.
// Adapters speak the canonical OpenAI-shaped types; translation to a wire format stays inside them.
import type { FastifyBaseLogger } from 'fastify'
import type {
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicStreamEvent,
} from '../schemas/anthropic/messages.js'
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from '../schemas/openai/chat.js'
import type { EmbeddingsRequest, EmbeddingsResponse } from '../schemas/openai/embeddings.js'

export interface CallContext {
  /** The upstream model id (already resolved from the public name). */
  model: string
  /** Aborted when the client goes away; adapters must pass it to their upstream call. */
  signal: AbortSignal
  requestId: string
  log: FastifyBaseLogger
  /** The client's request headers, for test controls such as the mock's x-mock-*. Never forward them. */
  headers: Readonly<Record<string, string | string[] | undefined>>
  /**
   * The client's own key for the upstream (x-anygate-provider-key). An adapter whose config has
   * allow_client_key sends it instead of its api_key; any other refuses the call with a 400. It is
   * for this call only: never store, log or echo it (scrub it from upstream error messages).
   */
  clientKey?: string
  /**
   * `signal` aborts the call after at most this long (the router's attempt deadline). A provider's
   * own total timeout that is no shorter could never fire first on a call read whole, so the
   * upstream client sets no timer of its own for it (one fewer per call); streams keep theirs.
   */
  limitMs?: number
}

export interface Capabilities {
  chat: boolean
  streaming: boolean
  embeddings: boolean
  tools: boolean
  vision: boolean
  json_schema: boolean
  /** Context window in tokens, when known. */
  max_context_tokens?: number
  /** Longest answer in tokens, when known. */
  max_output_tokens?: number
}

/**
 * An upstream that speaks the Anthropic Messages API natively: POST /v1/messages passes through it
 * with minimal change instead of a lossy round trip through the OpenAI shape.
 */
export interface NativeAnthropicMessages {
  create(request: AnthropicMessagesRequest, ctx: CallContext): Promise<AnthropicMessage>
  /** Resolves once the upstream accepted the call, then yields its events unchanged. */
  stream(request: AnthropicMessagesRequest, ctx: CallContext): Promise<AsyncIterable<AnthropicStreamEvent>>
}

export interface ProviderAdapter {
  readonly name: string
  readonly type: string
  chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion>
  /**
   * Resolves once the upstream accepted the call (so an upstream refusal is still a plain HTTP
   * error), then yields OpenAI chunks. The last chunk carries `usage` when the upstream reports it.
   */
  streamChat(request: ChatCompletionRequest, ctx: CallContext): Promise<AsyncIterable<ChatCompletionChunk>>
  embeddings(request: EmbeddingsRequest, ctx: CallContext): Promise<EmbeddingsResponse>
  /** Upstream model ids worth listing in GET /v1/models. */
  listModels(): string[]
  capabilities(model: string): Capabilities
  /** Present when the upstream speaks Anthropic Messages natively. */
  anthropicMessages?: NativeAnthropicMessages
  /** Releases sockets and timers; called when the app closes. */
  close?(): Promise<void>
}

export const fullCapabilities: Capabilities = {
  chat: true,
  streaming: true,
  embeddings: true,
  tools: true,
  vision: true,
  json_schema: true,
}
