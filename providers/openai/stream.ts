// OpenAI-compatible SSE events -> canonical chunks. The wire format is already canonical, so each
// event is parsed once and passed on; errors inside the stream become gateway errors.
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk } from '../../schemas/openai/chat.js'
import { attachRawJson } from '../shared/raw-json.js'
import type { SseEvent } from '../shared/sse-reader.js'
import { fromOpenAIError } from './errors.js'

export interface StreamSource {
  provider: string
  model: string
  secrets: readonly string[]
}

export async function* fromOpenAIEvents(
  events: AsyncIterable<SseEvent>,
  source: StreamSource,
): AsyncGenerator<ChatCompletionChunk> {
  let finished = false
  for await (const event of events) {
    if (event.data === '[DONE]') return
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
    for (const choice of parsed.choices) if (choice.finish_reason) finished = true
    yield attachRawJson(parsed, event.data)
  }
  // No [DONE]: tolerated from servers that omit it once the answer finished, otherwise truncation.
  if (!finished) throw upstreamBadResponse(source.provider, 'the stream ended before the answer finished')
}
