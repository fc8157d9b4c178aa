// Anthropic stream events -> SSE. Every event is named (`event: <type>`) and carries the same type
// in its data: the Anthropic SDKs dispatch on the event name and skip unnamed events
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
import type { FastifyBaseLogger } from 'fastify'
import { anthropicErrorType } from '../../plugins/anthropic-error-type.js'
import { ClientAbortError, GatewayError } from '../../plugins/gateway-error.js'
import { rawJsonOf } from '../../providers/shared/raw-json.js'
import type { AnthropicStreamEvent } from '../../schemas/anthropic/messages.js'

export const encodeAnthropicEvent = (event: AnthropicStreamEvent): string =>
  `event: ${event.type}\ndata: ${rawJsonOf(event) ?? JSON.stringify(event)}\n\n`

/**
 * A failure after the first byte can't change the status, so it ends the stream with an `error`
 * event, which the Anthropic SDKs raise as APIError. A client that went away gets nothing.
 */
export async function* encodeAnthropicSse(
  events: AsyncIterable<AnthropicStreamEvent>,
  log: FastifyBaseLogger,
): AsyncGenerator<string> {
  try {
    for await (const event of events) yield encodeAnthropicEvent(event)
  } catch (err) {
    if (err instanceof ClientAbortError) return
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError(502, 'The upstream stream failed.', 'upstream_error', 'upstream_stream_error')
    if (err instanceof GatewayError) log.warn({ status: error.statusCode, code: error.code }, error.message)
    else log.error({ err }, 'stream failed')
    yield encodeAnthropicEvent({
      type: 'error',
      error: { type: anthropicErrorType(error.statusCode), message: error.message },
    })
  }
}
