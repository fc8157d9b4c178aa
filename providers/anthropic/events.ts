// Anthropic SSE -> parsed stream events, each JSON-parsed once. Shared by the OpenAI translation
// (stream.ts) and the native /v1/messages passthrough, which yields these objects unchanged.
// Event flow: https://platform.claude.com/docs/en/build-with-claude/streaming#event-types
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { BatchOut } from '../shared/batch.js'
import type { SseEvent, SseTranslator } from '../shared/sse-reader.js'
import { fromAnthropicStreamError } from './errors.js'
import type { AnthropicStreamEvent } from './wire.js'

export interface StreamSource {
  provider: string
  model: string
  secrets: readonly string[]
}

/** One SSE message -> its event; undefined for an empty one. */
function parseEvent(message: SseEvent, source: StreamSource): AnthropicStreamEvent | undefined {
  if (message.data === '') return undefined
  let event: AnthropicStreamEvent
  try {
    event = JSON.parse(message.data)
  } catch {
    throw upstreamBadResponse(
      source.provider,
      `a stream event (${message.event ?? 'unnamed'}) was not valid JSON`,
    )
  }
  if (event === null || typeof event !== 'object' || typeof event.type !== 'string') {
    throw upstreamBadResponse(source.provider, 'a stream event had no type')
  }
  if (event.type === 'error' || message.event === 'error')
    throw fromAnthropicStreamError(message.data, source)
  return event
}

/**
 * The events of each read, through message_stop, each with its text (the passthrough forwards it:
 * routes/messages/sse.ts). An `error` event (e.g. an overloaded_error after the 200) throws the
 * gateway error its type stands for, after the events before it; a stream that ends before
 * message_stop was cut short and throws upstreamBadResponse.
 */
export class AnthropicEventTranslator implements SseTranslator<AnthropicStreamEvent> {
  constructor(private readonly source: StreamSource) {}

  read(messages: readonly SseEvent[], out: BatchOut<AnthropicStreamEvent>): boolean {
    for (const message of messages) {
      const event = parseEvent(message, this.source)
      if (event === undefined) continue
      out.items.push(event)
      out.texts.push(message.data)
      if (event.type === 'message_stop') return true
    }
    return false
  }

  end(): void {
    throw upstreamBadResponse(this.source.provider, 'the stream ended before message_stop')
  }
}
