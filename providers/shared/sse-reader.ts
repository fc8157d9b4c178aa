// Server-sent events off an upstream body, parsed once with eventsource-parser.
import { createParser, type EventSourceMessage } from 'eventsource-parser'

export type SseEvent = EventSourceMessage

export async function* readSseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  let pending: SseEvent[] = []
  const parser = createParser({ onEvent: (event) => pending.push(event) })
  const decoder = new TextDecoder()
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }))
    if (pending.length === 0) continue
    const ready = pending
    pending = []
    yield* ready
  }
  parser.feed(decoder.decode())
  // An event the upstream did not close with a blank line still counts.
  parser.reset({ consume: true })
  yield* pending
}
