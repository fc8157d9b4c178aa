// OpenAI-compatible SSE events -> canonical chunks. The wire format is already canonical, so each
// event is parsed once (to validate it and see the finish) and its text passed on.
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk } from '../../schemas/openai/chat.js'
import type { Batch } from '../shared/batch.js'
import type { SseEvent } from '../shared/sse-reader.js'
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

/** A batch of chunks per read, each with its text, which the encoder forwards instead of re-serializing. */
export async function* fromOpenAIEvents(
  reads: AsyncIterable<SseEvent[]>,
  source: StreamSource,
): AsyncGenerator<Batch<ChatCompletionChunk>> {
  let finished = false
  for await (const events of reads) {
    const items: ChatCompletionChunk[] = []
    const texts: string[] = []
    let ended = false
    try {
      for (const event of events) {
        if (event.data === '[DONE]') {
          ended = true
          break
        }
        const chunk = toChunk(event, source)
        for (const choice of chunk.choices) if (choice.finish_reason) finished = true
        items.push(chunk)
        texts.push(event.data)
      }
    } catch (err) {
      // The chunks before the bad event still reach the client, then the error.
      if (items.length > 0) yield { items, texts }
      throw err
    }
    if (items.length > 0) yield { items, texts }
    if (ended) return
  }
  // No [DONE]: tolerated from servers that omit it once the answer finished, otherwise truncation.
  if (!finished) throw upstreamBadResponse(source.provider, 'the stream ended before the answer finished')
}
