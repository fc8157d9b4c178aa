// Canonical request -> OpenAI-compatible wire body. The canonical type is OpenAI's, so this only
// swaps in the upstream model and asks for usage on streams; every other field passes through.
import type { ChatCompletionRequest } from '../../schemas/openai/chat.js'
import type { EmbeddingsRequest } from '../../schemas/openai/embeddings.js'

export interface ChatBodyOptions {
  model: string
  stream: boolean
  /** Ask for the usage chunk even if the client didn't, so usage is always known to the gateway. */
  streamUsage: boolean
  /** Azure takes the deployment from the URL, not the body. */
  includeModel: boolean
  /** The server reads only `max_tokens` (Ollama), so max_completion_tokens moves there. */
  legacyMaxTokens?: boolean
}

// Copies are made with Object.assign, not spread: on Node 20 adding a key to a spread copy (a
// stream_options the client did not send) takes V8's slow path, about 1.7 µs each. Fields are dropped
// by setting them undefined, which JSON.stringify leaves out: a `delete` turns the copy into a slow
// dictionary-mode object, and serializing that costs more than the whole copy.
export function toOpenAIChatBody(request: ChatCompletionRequest, options: ChatBodyOptions): string {
  const body: Record<string, unknown> = Object.assign({}, request)
  body.model = options.includeModel ? options.model : undefined
  if (options.legacyMaxTokens && body.max_completion_tokens != null) {
    body.max_tokens ??= body.max_completion_tokens
    body.max_completion_tokens = undefined
  }
  if (options.stream) {
    body.stream = true
    if (options.streamUsage)
      body.stream_options = Object.assign({}, request.stream_options, { include_usage: true })
  } else {
    if (body.stream !== undefined) body.stream = undefined
    if (body.stream_options !== undefined) body.stream_options = undefined
  }
  return JSON.stringify(body)
}

export function toOpenAIEmbeddingsBody(
  request: EmbeddingsRequest,
  model: string,
  includeModel: boolean,
): string {
  const body: Record<string, unknown> = Object.assign({}, request)
  body.model = includeModel ? model : undefined
  return JSON.stringify(body)
}
