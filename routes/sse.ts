// Canonical chunks -> the OpenAI SSE wire format (`data: {json}\n\n` ... `data: [DONE]\n\n`).
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { fromOpenAIUsage, type StreamTap, type TokenUsage } from '../plugins/call-record.js'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import type { Batch } from '../providers/shared/batch.js'
import type { ChatCompletionChunk } from '../schemas/openai/chat.js'

const done = 'data: [DONE]\n\n'

export interface SseOptions {
  /** The client asked for stream_options.include_usage; otherwise the usage-only chunk is dropped. */
  includeUsage: boolean
  log: FastifyBaseLogger
  /** See every chunk, then the end state (routes/call-context.ts streamTapsFor). */
  taps?: readonly StreamTap[]
  onUsage?: (usage: TokenUsage) => void
  /** The code of the error event a failed stream ended with. */
  onError?: (code: string) => void
}

/** Calls every tap's end once, whichever way the stream ended. */
export function endTaps(taps: readonly StreamTap[] | undefined, completed: boolean): void {
  if (taps) for (const tap of taps) tap.end?.(completed)
}

export function tapChunk(taps: readonly StreamTap[] | undefined, chunk: unknown, json: string): void {
  if (taps) for (const tap of taps) tap.chunk?.(chunk, json)
}

/**
 * A chunk's JSON for one `data:` line: the upstream's own text when it was kept, unless it spans
 * lines (an event of several data lines), which would not fit one.
 */
export function jsonLine(chunk: unknown, text: string | undefined): string {
  return text !== undefined && !text.includes('\n') ? text : JSON.stringify(chunk)
}

/**
 * A stream's batches as SSE text, one string per batch: one write, and one HTTP chunk, per upstream
 * read. Synchronous: the body (SseBody) does the reading, the encoder only says what goes out.
 */
export interface SseEncoder<T> {
  /** The text of one batch; '' when none of it goes out. */
  batch(batch: Batch<T>): string
  /** After the last batch of a stream that ended as it should (e.g. `data: [DONE]`). */
  completed(): string
  /** A failure after the first byte: the error event that ends the stream, '' for nothing. */
  failed(err: unknown): string
  /** Once, whichever way the stream ended: completed, failed, or the client left. */
  closed(completed: boolean): void
}

/** The error a stream that failed after the first byte reports, logged once here. */
export function streamFailure(err: unknown, log: FastifyBaseLogger): GatewayError {
  if (err instanceof GatewayError) {
    log.warn({ status: err.statusCode, code: err.code }, err.message)
    return err
  }
  log.error({ err }, 'stream failed')
  return new GatewayError(502, 'The upstream stream failed.', 'upstream_error', 'upstream_stream_error')
}

/**
 * Canonical chunks as OpenAI SSE. An upstream failure after the first byte can't change the status
 * any more, so it ends the stream with an error event in the shape the OpenAI SDKs raise as
 * APIError, and no [DONE]; a client that went away gets nothing.
 */
export class ChatSseEncoder implements SseEncoder<ChatCompletionChunk> {
  constructor(private readonly options: SseOptions) {}

  batch({ items, texts }: Batch<ChatCompletionChunk>): string {
    const { taps, includeUsage } = this.options
    let out = ''
    for (let i = 0; i < items.length; i++) {
      const chunk = items[i]!
      const json = jsonLine(chunk, texts?.[i])
      tapChunk(taps, chunk, json)
      if (chunk.usage) this.options.onUsage?.(fromOpenAIUsage(chunk.usage))
      // The usage-only chunk the gateway asked for on the client's behalf is not the client's.
      // (`usage: null` on the other chunks is left as the upstream wrote it: valid either way.)
      if (!includeUsage && chunk.choices.length === 0 && chunk.usage) continue
      out += `data: ${json}\n\n`
    }
    return out
  }

  completed(): string {
    return done
  }

  failed(err: unknown): string {
    if (err instanceof ClientAbortError) return ''
    const error = streamFailure(err, this.options.log)
    this.options.onError?.(error.code ?? 'upstream_stream_error')
    return `data: ${JSON.stringify(error.toBody())}\n\n`
  }

  closed(completed: boolean): void {
    endTaps(this.options.taps, completed)
  }
}

/** What the body needs of the response: its socket, to hold the writes of a turn. */
export type CorkableResponse = Pick<ServerResponse, 'socket' | 'writableEnded'>

/**
 * The response body of a stream: pulls a batch when the response wants more, encodes it and pushes
 * the text. One object in place of async generators for the encoding and the corking around
 * Readable.from: each generator layer held ~1 KB per open stream and cost promises and microtasks
 * per read (issue #8).
 *
 * It holds the writes of one event-loop turn in the socket until setImmediate rather than Node's own
 * cork until the next tick, which ends before the stream does (its end takes two more ticks): the
 * last batch, [DONE] and the chunked terminator from res.end() then leave in one syscall, not two.
 * The first write is the exception, sent before the rest is read (time to first byte).
 */
export class SseBody<T> extends Readable {
  readonly #res: CorkableResponse
  readonly #batches: AsyncIterator<Batch<T>>
  readonly #encoder: SseEncoder<T>
  /** A next() is outstanding (or the first write's tick is): one at a time. */
  #pulling = false
  /** _read came while pulling: pull again once that settles. */
  #wanted = false
  #first = true
  #corked = false
  #closed = false

  constructor(res: CorkableResponse, batches: AsyncIterable<Batch<T>>, encoder: SseEncoder<T>) {
    super()
    this.#res = res
    this.#batches = batches[Symbol.asyncIterator]()
    this.#encoder = encoder
  }

  override _read(): void {
    if (this.#pulling) this.#wanted = true
    else this.#pull()
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#closed) {
      callback(err)
      return
    }
    // The client left (Fastify destroys the body): the upstream call is given up.
    this.#close(false)
    const returned = this.#batches.return?.()
    if (returned === undefined) {
      callback(err)
      return
    }
    returned.then(
      () => callback(err),
      () => callback(err),
    )
  }

  #pull(): void {
    this.#pulling = true
    this.#wanted = false
    this.#batches.next().then(this.#onBatch, this.#onFailure)
  }

  readonly #onBatch = (result: IteratorResult<Batch<T>>): void => {
    if (this.destroyed) {
      this.#pulling = false
      return
    }
    let text: string
    try {
      text = result.done ? this.#encoder.completed() : this.#encoder.batch(result.value)
    } catch (err) {
      this.#onFailure(err)
      return
    }
    if (result.done) {
      this.#pulling = false
      this.#end(true, text)
      return
    }
    if (text === '') {
      this.#pull()
      return
    }
    // Still pulling while pushing: a _read() that push() calls back only marks the want.
    if (this.#first) {
      this.#first = false
      const more = this.push(text)
      // Node's own cork sends the write (with the headers) on the next tick: let it run first.
      process.nextTick(afterFirstWrite, this, more)
      return
    }
    this.#cork()
    if (this.push(text) || this.#wanted) this.#pull()
    else this.#pulling = false
  }

  readonly #onFailure = (err: unknown): void => {
    this.#pulling = false
    if (this.destroyed) return
    let text = ''
    try {
      text = this.#encoder.failed(err)
    } catch (failure) {
      this.destroy(failure as Error)
      return
    }
    this.#end(false, text)
  }

  /** The first write's tick has passed: read on if the response wants more. */
  afterFirstWrite(more: boolean): void {
    this.#pulling = false
    if (!this.destroyed && (more || this.#wanted)) this.#pull()
  }

  #end(completed: boolean, text: string): void {
    if (text !== '') {
      if (!this.#first) this.#cork()
      this.push(text)
    }
    this.#close(completed)
    this.push(null)
  }

  #close(completed: boolean): void {
    if (this.#closed) return
    this.#closed = true
    this.#encoder.closed(completed)
  }

  #cork(): void {
    const socket = this.#res.socket
    if (this.#corked || !socket) return
    this.#corked = true
    socket.cork()
    setImmediate(uncorkTurn, this)
  }

  uncorkTurn(): void {
    this.#corked = false
    // end() uncorked fully already, and by now the socket may be serving the next request.
    if (!this.#res.writableEnded) this.#res.socket?.uncork()
  }
}

// Module functions with the body as argument: no closure per write.
const afterFirstWrite = (body: Pick<SseBody<unknown>, 'afterFirstWrite'>, more: boolean) =>
  body.afterFirstWrite(more)
const uncorkTurn = (body: Pick<SseBody<unknown>, 'uncorkTurn'>) => body.uncorkTurn()

export function sendSse<T>(
  reply: FastifyReply,
  batches: AsyncIterable<Batch<T>>,
  encoder: SseEncoder<T>,
): FastifyReply {
  reply.headers({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // Proxies such as nginx would otherwise hold chunks back.
    'x-accel-buffering': 'no',
  })
  return reply.send(new SseBody(reply.raw, batches, encoder))
}
