// What one inference call did, filled in as it happens and read once it is over. The routes set it
// (routes/call-context.ts), the stream encoders add first-byte time and usage as chunks pass, and
// the plugins that account for the call (spend, metrics, the request log) read it in onResponse,
// which for a stream fires after its last byte. One record instead of each plugin re-deriving it.

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS'

/** Token counts in one shape for every format (OpenAI usage, Anthropic usage). */
export interface TokenUsage {
  prompt: number
  completion: number
  /** Prompt tokens served from the provider's prompt cache, included in `prompt`. */
  cachedPrompt: number
}

export interface GatewayContext {
  /** The public model as the client named it (or as a fallback resolved it). */
  model: string
  provider: string
  upstreamModel: string
  attempts: number
  /** The public model that failed over, when a fallback served the call. */
  fallbackFrom?: string
  stream: boolean
  cache: CacheStatus
  /** Reported by the upstream (or replayed from the cache); absent when it reported none. */
  usage?: TokenUsage
  /** Set by the spend plugin from usage and the pricing table; 0 for cache hits. */
  costUsd?: number
  /** Milliseconds from the request's start to the first chunk (stream) or the answer (JSON). */
  firstByteMs?: number
  /** Milliseconds from the request's start to the last chunk of a stream. */
  lastByteMs?: number
  /** A stream that ended early: the error code sent in its error event, or 'client_abort'. */
  streamError?: string
}

/** Something that watches a stream's chunks pass, e.g. the cache recording what to replay. */
export interface StreamTap {
  /** json: the chunk's JSON text as the client got it (the cache replays it). */
  chunk?(chunk: unknown, json: string): void
  /** completed: the stream reached its natural end; false for an error event or a client abort. */
  end?(completed: boolean): void
}

/** Which inference endpoint a route is: the plugins that act per call (limits, cache, spend) key on it. */
export type InferenceKind = 'chat' | 'embeddings' | 'messages'

declare module 'fastify' {
  interface FastifyContextConfig {
    inference?: InferenceKind
  }
  interface FastifyRequest {
    gateway: GatewayContext | null
    /** Taps added before the handler runs see every chunk of the streamed answer. */
    streamTaps: StreamTap[] | null
  }
}

export function fromOpenAIUsage(usage: {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: { cached_tokens?: number } | null
}): TokenUsage {
  return {
    prompt: usage.prompt_tokens ?? 0,
    completion: usage.completion_tokens ?? 0,
    cachedPrompt: usage.prompt_tokens_details?.cached_tokens ?? 0,
  }
}

/** Anthropic counts cache reads and writes apart from input_tokens; OpenAI's prompt includes them. */
export function fromAnthropicUsage(usage: {
  input_tokens?: number
  output_tokens?: number
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
}): TokenUsage {
  const cacheRead = usage.cache_read_input_tokens ?? 0
  return {
    prompt: (usage.input_tokens ?? 0) + cacheRead + (usage.cache_creation_input_tokens ?? 0),
    completion: usage.output_tokens ?? 0,
    cachedPrompt: cacheRead,
  }
}

export function addStreamTap(request: { streamTaps: StreamTap[] | null }, tap: StreamTap): void {
  if (request.streamTaps) request.streamTaps.push(tap)
  else request.streamTaps = [tap]
}
