// Anthropic stream events -> SSE. Every event is named (`event: <type>`) and carries the same type
// in its data: the Anthropic SDKs dispatch on the event name and skip unnamed events
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
import type { FastifyBaseLogger } from 'fastify'
import { anthropicErrorType } from '../../plugins/anthropic-error-type.js'
import { fromAnthropicUsage } from '../../plugins/call-record.js'
import { ClientAbortError, GatewayError } from '../../plugins/gateway-error.js'
import type { Batch } from '../../providers/shared/batch.js'
import type { AnthropicStreamEvent, AnthropicUsage } from '../../schemas/anthropic/messages.js'
import { endTaps, jsonLine, type SseOptions, tapChunk } from '../sse.js'

type AnthropicStreamUsage = Partial<AnthropicUsage> & { input_tokens: number; output_tokens: number }

const eventLine = (event: AnthropicStreamEvent, json: string): string =>
  `event: ${event.type}\ndata: ${json}\n\n`

/**
 * A failure after the first byte can't change the status, so it ends the stream with an `error`
 * event, which the Anthropic SDKs raise as APIError. A client that went away gets nothing.
 * One string per batch: one write, and one HTTP chunk, per upstream read.
 */
export async function* encodeAnthropicSse(
  batches: AsyncIterable<Batch<AnthropicStreamEvent>>,
  log: FastifyBaseLogger,
  observe: Pick<SseOptions, 'taps' | 'onUsage' | 'onError'> = {},
): AsyncGenerator<string> {
  const { taps } = observe
  let completed = false
  // Anthropic reports input tokens in message_start and the running output count in message_delta.
  let usage: AnthropicStreamUsage = { input_tokens: 0, output_tokens: 0 }
  try {
    for await (const { items, texts } of batches) {
      let out = ''
      for (let i = 0; i < items.length; i++) {
        const event = items[i]!
        const json = jsonLine(event, texts?.[i])
        tapChunk(taps, event, json)
        if (event.type === 'message_start') usage = { ...event.message.usage }
        else if (event.type === 'message_delta') usage = { ...usage, ...event.usage }
        out += eventLine(event, json)
      }
      if (out !== '') yield out
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
    const event: AnthropicStreamEvent = {
      type: 'error',
      error: { type: anthropicErrorType(error.statusCode), message: error.message },
    }
    yield eventLine(event, JSON.stringify(event))
  } finally {
    endTaps(taps, completed)
  }
}
