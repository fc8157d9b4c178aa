// Anthropic stream events -> SSE. Every event is named (`event: <type>`) and carries the same type
// in its data: the Anthropic SDKs dispatch on the event name and skip unnamed events
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
import type { FastifyBaseLogger } from 'fastify'
import { anthropicErrorType } from '../../plugins/anthropic-error-type.js'
import { fromAnthropicUsage } from '../../plugins/call-record.js'
import { ClientAbortError, GatewayError } from '../../plugins/gateway-error.js'
import { rawJsonOf } from '../../providers/shared/raw-json.js'
import type { AnthropicStreamEvent, AnthropicUsage } from '../../schemas/anthropic/messages.js'
import { endTaps, type SseOptions, tapChunk } from '../sse.js'

type AnthropicStreamUsage = Partial<AnthropicUsage> & { input_tokens: number; output_tokens: number }

export const encodeAnthropicEvent = (event: AnthropicStreamEvent): string =>
  `event: ${event.type}\ndata: ${rawJsonOf(event) ?? JSON.stringify(event)}\n\n`

/**
 * A failure after the first byte can't change the status, so it ends the stream with an `error`
 * event, which the Anthropic SDKs raise as APIError. A client that went away gets nothing.
 */
export async function* encodeAnthropicSse(
  events: AsyncIterable<AnthropicStreamEvent>,
  log: FastifyBaseLogger,
  observe: Pick<SseOptions, 'taps' | 'onUsage' | 'onError'> = {},
): AsyncGenerator<string> {
  const { taps } = observe
  let completed = false
  // Anthropic reports input tokens in message_start and the running output count in message_delta.
  let usage: AnthropicStreamUsage = { input_tokens: 0, output_tokens: 0 }
  try {
    for await (const event of events) {
      tapChunk(taps, event)
      if (event.type === 'message_start') usage = { ...event.message.usage }
      else if (event.type === 'message_delta') usage = { ...usage, ...event.usage }
      yield encodeAnthropicEvent(event)
    }
    completed = true
    observe.onUsage?.(fromAnthropicUsage(usage))
  } catch (err) {
    if (err instanceof ClientAbortError) return
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError(502, 'The upstream stream failed.', 'upstream_error', 'upstream_stream_error')
    if (err instanceof GatewayError) log.warn({ status: error.statusCode, code: error.code }, error.message)
    else log.error({ err }, 'stream failed')
    observe.onUsage?.(fromAnthropicUsage(usage))
    observe.onError?.(error.code ?? 'upstream_stream_error')
    yield encodeAnthropicEvent({
      type: 'error',
      error: { type: anthropicErrorType(error.statusCode), message: error.message },
    })
  } finally {
    endTaps(taps, completed)
  }
}
