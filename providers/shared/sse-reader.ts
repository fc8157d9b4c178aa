// Server-sent events off an upstream body, parsed once with eventsource-parser and translated a read
// at a time. Reading, parsing and translating are one iterator object rather than a chain of async
// generators (reader, translator, release wrapper): each generator layer held ~1 KB per open stream
// and cost promises and microtasks per read (issue #8).
import { StringDecoder } from 'node:string_decoder'
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser'
import { GatewayError } from '../../plugins/gateway-error.js'
import { type Batch, type BatchOut, doneResult } from './batch.js'

export type SseEvent = EventSourceMessage

/**
 * One stream's translation, one read's events at a time: stateful per stream, pure (no I/O). The
 * reader owns the batching, the order of items and errors, and the release of the body.
 */
export interface SseTranslator<T> {
  /**
   * Appends the items of one read's events to `out`. Returns true at the stream's end marker: what
   * follows it is not read. A bad event throws, after appending the items before it (they still
   * reach the client, then the error).
   */
  read(events: readonly SseEvent[], out: BatchOut<T>): boolean
  /** The body ended with no end marker: appends the closing items, or throws (the stream was cut). */
  end(out: BatchOut<T>): void
}

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

export interface SseReaderOptions {
  maxEventChars?: number
  /** Maps every failure, the body's and the translator's, before the reader sees it. */
  mapError?: (err: unknown) => unknown
  /** Once, when the reader is done with the body: completed (end marker or end of body) or not. */
  release?: (completed: boolean) => void
}

/** Passes the events on as they are: the reader alone (tests, and streams read without translation). */
export const sseEvents: SseTranslator<SseEvent> = {
  read(events, out) {
    out.items.push(...events)
    return false
  },
  end() {},
}

/**
 * A batch per body read that completed any event, as translated. The stream's first event is the
 * exception: it goes alone, so it can reach the client before the rest of its read (often the whole
 * answer, from a fast upstream) is parsed, translated and encoded. One reader at a time: next() is
 * never called again before it settles.
 */
export class SseBatchReader<T> implements AsyncIterableIterator<Batch<T>> {
  readonly #body: AsyncIterator<Uint8Array>
  readonly #translator: SseTranslator<T>
  readonly #options: SseReaderOptions
  readonly #maxEventChars: number
  readonly #parser: EventSourceParser
  // StringDecoder rather than TextDecoder: a fifth of the cost per read. It keeps a BOM, which
  // TextDecoder dropped and the parser would read as part of the first field name.
  readonly #decoder = new StringDecoder('utf8')
  #events: SseEvent[] = []
  /** The rest of a read whose first event went alone. */
  #carried: string | undefined
  #firstText = true
  #firstEventSent = false
  #overflow = false
  /** A failure that came after items still to be handed out: thrown by the next call. */
  #failure: unknown
  #done = false

  constructor(body: AsyncIterable<Uint8Array>, translator: SseTranslator<T>, options: SseReaderOptions = {}) {
    this.#body = body[Symbol.asyncIterator]()
    this.#translator = translator
    this.#options = options
    this.#maxEventChars = options.maxEventChars ?? maxSseEventChars
    this.#parser = createParser({
      onEvent: (event) => this.#events.push(event),
      maxBufferSize: this.#maxEventChars,
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.#overflow = true
      },
    })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Batch<T>, undefined>> {
    if (this.#done) {
      const failure = this.#failure
      if (failure === undefined) return doneResult
      this.#failure = undefined
      throw failure
    }
    const out: BatchOut<T> = { items: [], texts: [] }
    try {
      for (;;) {
        let text = this.#carried
        this.#carried = undefined
        if (text === undefined) {
          const read = await this.#body.next()
          if (read.done) return this.#atEnd(out)
          text = this.#decoder.write(read.value)
          if (this.#firstText && text !== '') {
            this.#firstText = false
            if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
          }
          if (!this.#firstEventSent) {
            const end = endOfFirstEvent(text)
            // Nothing stays buffered after a blank line, so the first part cannot overflow.
            if (end > 0 && end < text.length) {
              this.#carried = text.slice(end)
              text = text.slice(0, end)
            }
          }
        }
        this.#parser.feed(text)
        if (this.#events.length > 0) {
          this.#firstEventSent = true
          if (this.#translate(out)) return this.#finish(out)
        }
        // After the events that came before it: the client still gets every whole event.
        if (this.#overflow) throw sseEventTooLarge(this.#maxEventChars)
        if (out.items.length > 0) return { value: batchOf(out), done: false }
      }
    } catch (err) {
      return this.#fail(out, err)
    }
  }

  /** Stops reading: the body is released unfinished (the upstream call is aborted). */
  async return(): Promise<IteratorResult<Batch<T>, undefined>> {
    this.#failure = undefined
    this.#close(false)
    return doneResult
  }

  /** The parsed events through the translator; true at the end marker. */
  #translate(out: BatchOut<T>): boolean {
    const events = this.#events
    this.#events = []
    return this.#translator.read(events, out)
  }

  #atEnd(out: BatchOut<T>): IteratorResult<Batch<T>, undefined> {
    this.#parser.feed(this.#decoder.end())
    // A last line without its newline is still parsed, but an event the upstream never closed with a
    // blank line is discarded, as the SSE specification has it.
    this.#parser.reset({ consume: true })
    if (this.#events.length > 0 && this.#translate(out)) return this.#finish(out)
    if (this.#overflow) throw sseEventTooLarge(this.#maxEventChars)
    this.#translator.end(out)
    return this.#finish(out)
  }

  /** The stream ended as it should (end marker or end of body): the last items, or done. */
  #finish(out: BatchOut<T>): IteratorResult<Batch<T>, undefined> {
    this.#close(true)
    return out.items.length > 0 ? { value: batchOf(out), done: false } : doneResult
  }

  /** The items before the failure go out first; the failure is thrown now or by the next call. */
  #fail(out: BatchOut<T>, err: unknown): IteratorResult<Batch<T>, undefined> {
    const mapped = this.#options.mapError ? this.#options.mapError(err) : err
    this.#close(false)
    if (out.items.length === 0) throw mapped
    this.#failure = mapped
    return { value: batchOf(out), done: false }
  }

  #close(completed: boolean): void {
    if (this.#done) return
    this.#done = true
    this.#events = []
    this.#carried = undefined
    this.#options.release?.(completed)
  }
}

const batchOf = <T>(out: BatchOut<T>): Batch<T> => (out.texts.length > 0 ? out : { items: out.items })

/** Where the first event in a read ends (after its blank line), or -1; LF or CRLF line ends. */
function endOfFirstEvent(text: string): number {
  const lf = text.indexOf('\n\n')
  if (lf !== -1) return lf + 2
  const crlf = text.indexOf('\r\n\r\n')
  return crlf === -1 ? -1 : crlf + 4
}
