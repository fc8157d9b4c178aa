// Anthropic SSE -> parsed stream events, each JSON-parsed once. Shared by the OpenAI translation
// (stream.ts) and the native /v1/messages passthrough, which yields these objects unchanged.
// Event flow: https://platform.claude.com/docs/en/build-with-claude/streaming#event-types
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { SseEvent } from '../shared/sse-reader.js'
import { fromAnthropicStreamError } from './errors.js'
import type { AnthropicStreamEvent } from './wire.js'

export interface StreamSource {
  provider: string
  model: string
  secrets: readonly string[]
}

/**
 * Yields every event through message_stop, then stops reading. An `error` event (e.g. an
 * overloaded_error after the 200) throws the gateway error its type stands for; a stream that ends
 * before message_stop was cut short and throws upstreamBadResponse.
 */
export async function* readAnthropicEvents(
  sse: AsyncIterable<SseEvent>,
  source: StreamSource,
): AsyncGenerator<AnthropicStreamEvent> {
  for await (const message of sse) {
    if (message.data === '') continue
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
    yield event
    if (event.type === 'message_stop') return
  }
  throw upstreamBadResponse(source.provider, 'the stream ended before message_stop')
}
