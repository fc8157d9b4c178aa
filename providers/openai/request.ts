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

export function toOpenAIChatBody(request: ChatCompletionRequest, options: ChatBodyOptions): string {
  const body: Record<string, unknown> = { ...request, model: options.model }
  if (!options.includeModel) delete body.model
  if (options.legacyMaxTokens && body.max_completion_tokens != null) {
    body.max_tokens ??= body.max_completion_tokens
    delete body.max_completion_tokens
  }
  if (options.stream) {
    body.stream = true
    if (options.streamUsage) body.stream_options = { ...request.stream_options, include_usage: true }
  } else {
    delete body.stream
    delete body.stream_options
  }
  return JSON.stringify(body)
}

export function toOpenAIEmbeddingsBody(
  request: EmbeddingsRequest,
  model: string,
  includeModel: boolean,
): string {
  const body: Record<string, unknown> = { ...request, model }
  if (!includeModel) delete body.model
  return JSON.stringify(body)
}
