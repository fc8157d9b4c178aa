// Server-sent events off an upstream body, parsed once with eventsource-parser.
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { GatewayError } from '../../plugins/gateway-error.js'

export type SseEvent = EventSourceMessage

/**
 * The most one event (or an unfinished line) may buffer. Without a bound, an upstream that never
 * ends a `data:` line grows the gateway's memory until its idle timeout, then fails as a timeout.
 */
export const maxSseEventChars = 1 << 20

/** A 502 like the providers' upstreamBadResponse; the provider is named in x-anygate-provider. */
const sseEventTooLarge = (limitChars: number) =>
  new GatewayError(
    502,
    `The upstream sent a stream event of over ${limitChars} characters without ending it; the gateway stopped reading the stream.`,
    'upstream_error',
    'upstream_bad_response',
  )

export async function* readSseEvents(
  body: AsyncIterable<Uint8Array>,
  maxEventChars = maxSseEventChars,
): AsyncGenerator<SseEvent> {
  let pending: SseEvent[] = []
  let overflow = false
  const parser = createParser({
    onEvent: (event) => pending.push(event),
    maxBufferSize: maxEventChars,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = true
    },
  })
  const decoder = new TextDecoder()
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }))
    if (pending.length > 0) {
      const ready = pending
      pending = []
      yield* ready
    }
    // After the events that came before it: the client still gets every whole event.
    if (overflow) throw sseEventTooLarge(maxEventChars)
  }
  parser.feed(decoder.decode())
  // An event the upstream did not close with a blank line still counts.
  parser.reset({ consume: true })
  yield* pending
  if (overflow) throw sseEventTooLarge(maxEventChars)
}
