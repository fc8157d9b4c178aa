// OpenAI-compatible SSE events -> canonical chunks. The wire format is already canonical, so each
// event is parsed once (to validate it and see the finish) and its text passed on.
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk } from '../../schemas/openai/chat.js'
import type { BatchOut } from '../shared/batch.js'
import type { SseEvent, SseTranslator } from '../shared/sse-reader.js'
import { fromOpenAIError } from './errors.js'

export interface StreamSource {
  provider: string
  model: string
  secrets: readonly string[]
}

/** One event's chunk, validated; errors inside the stream become gateway errors. */
function toChunk(event: SseEvent, source: StreamSource): ChatCompletionChunk {
  let parsed: ChatCompletionChunk & { error?: unknown }
  try {
    parsed = JSON.parse(event.data)
  } catch {
    throw upstreamBadResponse(source.provider, 'a stream event was not valid JSON')
  }
  if (parsed.error !== undefined || event.event === 'error') {
    const status = Number((parsed.error as { status?: unknown } | undefined)?.status) || 502
    throw fromOpenAIError({ ...source, status, body: event.data })
  }
  if (!Array.isArray(parsed.choices)) {
    throw upstreamBadResponse(source.provider, 'a stream event had no choices array')
  }
  return parsed
}

/**
 * Chunks with their texts, which the encoder forwards instead of re-serializing. Ends at [DONE]; a
 * body that ends without it is tolerated from servers that omit it once the answer finished,
 * otherwise it was cut short.
 */
export class OpenAIChunkTranslator implements SseTranslator<ChatCompletionChunk> {
  #finished = false

  constructor(private readonly source: StreamSource) {}

  read(events: readonly SseEvent[], out: BatchOut<ChatCompletionChunk>): boolean {
    for (const event of events) {
      if (event.data === '[DONE]') return true
      const chunk = toChunk(event, this.source)
      for (const choice of chunk.choices) if (choice.finish_reason) this.#finished = true
      out.items.push(chunk)
      out.texts.push(event.data)
    }
    return false
  }

  end(): void {
    if (!this.#finished)
      throw upstreamBadResponse(this.source.provider, 'the stream ended before the answer finished')
  }
}
