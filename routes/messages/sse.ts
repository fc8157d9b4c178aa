// Anthropic stream events -> SSE. Every event is named (`event: <type>`) and carries the same type
// in its data: the Anthropic SDKs dispatch on the event name and skip unnamed events
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
import type { FastifyBaseLogger } from 'fastify'
import { anthropicErrorType } from '../../plugins/anthropic-error-type.js'
import { fromAnthropicUsage } from '../../plugins/call-record.js'
import { ClientAbortError } from '../../plugins/gateway-error.js'
import type { Batch } from '../../providers/shared/batch.js'
import type { AnthropicStreamEvent, AnthropicUsage } from '../../schemas/anthropic/messages.js'
import { endTaps, jsonLine, type SseEncoder, type SseOptions, streamFailure, tapChunk } from '../sse.js'

type AnthropicStreamUsage = Partial<AnthropicUsage> & { input_tokens: number; output_tokens: number }

const eventLine = (event: AnthropicStreamEvent, json: string): string =>
  `event: ${event.type}\ndata: ${json}\n\n`

/**
 * Anthropic events as SSE. A failure after the first byte can't change the status, so it ends the
 * stream with an `error` event, which the Anthropic SDKs raise as APIError. A client that went away
 * gets nothing.
 */
export class AnthropicSseEncoder implements SseEncoder<AnthropicStreamEvent> {
  // Anthropic reports input tokens in message_start and the running output count in message_delta.
  #usage: AnthropicStreamUsage = { input_tokens: 0, output_tokens: 0 }

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly observe: Pick<SseOptions, 'taps' | 'onUsage' | 'onError'> = {},
  ) {}

  batch({ items, texts }: Batch<AnthropicStreamEvent>): string {
    const { taps } = this.observe
    let out = ''
    for (let i = 0; i < items.length; i++) {
      const event = items[i]!
      const json = jsonLine(event, texts?.[i])
      tapChunk(taps, event, json)
      if (event.type === 'message_start') this.#usage = { ...event.message.usage }
      else if (event.type === 'message_delta') this.#usage = { ...this.#usage, ...event.usage }
      out += eventLine(event, json)
    }
    return out
  }

  completed(): string {
    this.observe.onUsage?.(fromAnthropicUsage(this.#usage))
    return ''
  }

  failed(err: unknown): string {
    if (err instanceof ClientAbortError) return ''
    const error = streamFailure(err, this.log)
    this.observe.onUsage?.(fromAnthropicUsage(this.#usage))
    this.observe.onError?.(error.code ?? 'upstream_stream_error')
    const event: AnthropicStreamEvent = {
      type: 'error',
      error: { type: anthropicErrorType(error.statusCode), message: error.message },
    }
    return eventLine(event, JSON.stringify(event))
  }

  closed(completed: boolean): void {
    endTaps(this.observe.taps, completed)
  }
}
