// Server-sent events off an upstream body, parsed once with eventsource-parser.
import { StringDecoder } from 'node:string_decoder'
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

/**
 * The complete events of each body read, one array per read that completed any: the stream is
 * translated and written a read at a time, not an event at a time (batch.ts). The stream's first
 * event is the exception: it comes alone, so it can reach the client before the rest of its read
 * (often the whole answer, from a fast upstream) is parsed, translated and encoded.
 */
export async function* readSseBatches(
  body: AsyncIterable<Uint8Array>,
  maxEventChars = maxSseEventChars,
): AsyncGenerator<SseEvent[]> {
  let pending: SseEvent[] = []
  let yielded = false
  const take = () => {
    const ready = pending
    pending = []
    yielded = true
    return ready
  }
  let overflow = false
  const parser = createParser({
    onEvent: (event) => pending.push(event),
    maxBufferSize: maxEventChars,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = true
    },
  })
  // StringDecoder rather than TextDecoder: a fifth of the cost per read. It keeps a BOM, which
  // TextDecoder dropped and the parser would read as part of the first field name.
  const decoder = new StringDecoder('utf8')
  let first = true
  for await (const bytes of body) {
    let text = decoder.write(bytes)
    if (first && text !== '') {
      first = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (!yielded) {
      const end = endOfFirstEvent(text)
      if (end > 0 && end < text.length) {
        // Nothing stays buffered after a blank line, so this part cannot overflow.
        parser.feed(text.slice(0, end))
        text = text.slice(end)
        if (pending.length > 0) yield take()
      }
    }
    parser.feed(text)
    if (pending.length > 0) yield take()
    // After the events that came before it: the client still gets every whole event.
    if (overflow) throw sseEventTooLarge(maxEventChars)
  }
  parser.feed(decoder.end())
  // A last line without its newline is still parsed, but an event the upstream never closed with a
  // blank line is discarded, as the SSE specification has it.
  parser.reset({ consume: true })
  if (pending.length > 0) yield pending
  if (overflow) throw sseEventTooLarge(maxEventChars)
}

/** Where the first event in a read ends (after its blank line), or -1; LF or CRLF line ends. */
function endOfFirstEvent(text: string): number {
  const lf = text.indexOf('\n\n')
  if (lf !== -1) return lf + 2
  const crlf = text.indexOf('\r\n\r\n')
  return crlf === -1 ? -1 : crlf + 4
}
