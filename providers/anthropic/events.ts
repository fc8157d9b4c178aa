// Anthropic SSE -> parsed stream events, each JSON-parsed once. Shared by the OpenAI translation
// (stream.ts) and the native /v1/messages passthrough, which yields these objects unchanged.
// Event flow: https://platform.claude.com/docs/en/build-with-claude/streaming#event-types
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { Batch } from '../shared/batch.js'
import type { SseEvent } from '../shared/sse-reader.js'
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
 * A batch of events per body read, through message_stop, then stops reading. An `error` event (e.g.
 * an overloaded_error after the 200) throws the gateway error its type stands for, after the events
 * before it; a stream that ends before message_stop was cut short and throws upstreamBadResponse.
 */
export async function* readAnthropicEvents(
  reads: AsyncIterable<SseEvent[]>,
  source: StreamSource,
): AsyncGenerator<Batch<AnthropicStreamEvent>> {
  for await (const messages of reads) {
    const items: AnthropicStreamEvent[] = []
    // The passthrough forwards each event's own text (routes/messages/sse.ts).
    const texts: string[] = []
    let stopped = false
    try {
      for (const message of messages) {
        const event = parseEvent(message, source)
        if (event === undefined) continue
        items.push(event)
        texts.push(message.data)
        if (event.type === 'message_stop') {
          stopped = true
          break
        }
      }
    } catch (err) {
      if (items.length > 0) yield { items, texts }
      throw err
    }
    if (items.length > 0) yield { items, texts }
    if (stopped) return
  }
  throw upstreamBadResponse(source.provider, 'the stream ended before message_stop')
}
