// One upstream response, fed by undici's dispatch handler callbacks. Pool.request() wraps every
// response in a BodyReadable (a Node Readable): its construction, push/read, end and close events
// and their nextTick scheduling were a sizable share of a call's CPU in the gateway. This keeps the
// chunks in an array instead and gives readers what they used: the whole text, or the chunks as an
// async iterable with the same backpressure, release and abort behaviour as the Readable had.

import type { Dispatcher } from 'undici'
// undici's error classes without its index (see upstream-client.ts on why).
import errors from 'undici/lib/core/errors.js'

type Controller = Dispatcher.DispatchController

/** As a Readable's default: past this much unread, the upstream socket is paused. */
const highWaterMark = 64 * 1024
/** As undici's body.dump(): a completed stream's rest is read up to here, else the socket is dropped. */
const drainLimit = 128 * 1024

const prematureClose = () =>
  Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })

const joinText = (parts: Buffer[]) =>
  parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8')

const endOfBody: IteratorResult<Buffer, undefined> = { value: undefined, done: true }

/** A Timeout's callback with the body as its argument: no closure per call. */
function abortTimedOut(body: UpstreamBody): void {
  body.timedOut = true
  body.abort()
}

/**
 * The handler of one dispatched call and, once its headers came, its body. One reader at a time.
 * It also holds the call's total timeout and follows the client's signal: both abort the call, and
 * both are let go of once, when the body is read to its end, released, aborted or failed. (One
 * object owning them rather than the client making a closure for each: this runs on every call.)
 */
export class UpstreamBody implements Dispatcher.DispatchHandler, AsyncIterableIterator<Buffer> {
  /** The total timeout aborted the call (not the client). */
  timedOut = false
  statusCode = 0
  headers: Dispatcher.ResponseData['headers'] = {}
  #controller: Controller | undefined
  #started: (() => void) | undefined
  #refused: ((err: Error) => void) | undefined
  #abortBeforeStart = false
  #chunks: Buffer[] = []
  #queued = 0
  #bytesRead = 0
  /** The upstream sent the whole body (some of it may still be unread). */
  #ended = false
  #draining = false
  #error: Error | undefined
  #closed = false
  /** The waiting reader's retry, run when a chunk, the end or an error arrives. */
  #wake: (() => void) | undefined

  readonly #signal: AbortSignal
  readonly #onClientAbort = () => this.abort()
  readonly #timer: NodeJS.Timeout | undefined

  /** `totalMs` undefined: the caller's signal carries a deadline that comes first (CallContext.limitMs). */
  constructor(signal: AbortSignal, totalMs: number | undefined) {
    this.#signal = signal
    this.#timer = totalMs === undefined ? undefined : setTimeout(abortTimedOut, totalMs, this)
    signal.addEventListener('abort', this.#onClientAbort, { once: true })
  }

  /** Dispatches the call; resolves at the response's headers, rejects with undici's error before them. */
  send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#started = resolve
      this.#refused = reject
      dispatcher.dispatch(options, this)
    })
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller
    // As request() did: a call aborted while queued in the pool fails once it gets its connection.
    if (this.#abortBeforeStart) controller.abort(new errors.RequestAbortedError())
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Dispatcher.ResponseData['headers'],
  ): void {
    // Informational answers (1xx) precede the real one, as request() ignores them.
    if (statusCode < 200) return
    this.statusCode = statusCode
    this.headers = headers
    const started = this.#started!
    this.#started = undefined
    this.#refused = undefined
    started()
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#bytesRead += chunk.length
    if (this.#draining) {
      if (this.#bytesRead > drainLimit) this.abort()
      return
    }
    this.#chunks.push(chunk)
    this.#queued += chunk.length
    if (this.#wake) this.#wakeReader()
    else if (this.#queued >= highWaterMark) controller.pause()
  }

  onResponseEnd(): void {
    this.#ended = true
    if (this.#draining) this.#close()
    else if (this.#wake) this.#wakeReader()
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.#closed) return
    const refused = this.#refused
    if (refused) {
      this.#started = undefined
      this.#refused = undefined
      this.#close()
      refused(err)
      return
    }
    this.#fail(err)
  }

  /**
   * Gives the call up (total timeout, client gone, body not wanted): the upstream request is aborted
   * unless it already finished, and readers fail with undici's RequestAbortedError.
   */
  abort(): void {
    if (this.#closed) return
    if (this.#started) {
      if (this.#controller) this.#controller.abort(new errors.RequestAbortedError())
      else this.#abortBeforeStart = true
      return
    }
    const err = new errors.RequestAbortedError()
    const unfinished = !this.#ended
    this.#fail(err)
    if (unfinished) this.#controller!.abort(err)
  }

  /**
   * Ends a body its reader stopped reading: completed (the stream's end marker came), the rest is
   * read and discarded so the connection returns to the pool; anything else aborts the call.
   */
  release(completed: boolean): void {
    if (this.#closed) return
    const length = Number(this.headers['content-length'])
    if (!completed || length > drainLimit || this.#bytesRead > drainLimit) {
      this.abort()
      return
    }
    this.#chunks = []
    this.#queued = 0
    if (this.#ended) {
      this.#close()
      return
    }
    this.#draining = true
    this.#resume()
  }

  /** The body as text, at most `limit` bytes: past it the text is cut there and the call aborted. */
  text(limit: number): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(this.#error ?? prematureClose())
        return
      }
      // The chunks stay queued until the end: the usual answer has arrived whole by now.
      const step = () => {
        if (this.#error) return reject(this.#error)
        if (this.#queued > limit) {
          resolve(Buffer.concat(this.#chunks).toString('utf8', 0, limit))
          this.abort()
        } else if (this.#ended) {
          const text = joinText(this.#chunks)
          this.#chunks = []
          this.#queued = 0
          this.#close()
          resolve(text)
        } else {
          this.#wake = step
          this.#resume()
        }
      }
      step()
    })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  /**
   * The chunks that arrived since the last call, as one buffer; done at the body's end. There is no
   * return(): a reader that stops early leaves the body to release().
   */
  next(): Promise<IteratorResult<Buffer, undefined>> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        if (this.#error) return reject(this.#error)
        if (this.#chunks.length > 0) return resolve({ value: this.#take(), done: false })
        // Closed unread: released, as a destroyed Readable's iterator ends.
        if (this.#ended || this.#closed) {
          this.#close()
          return resolve(endOfBody)
        }
        this.#wake = settle
      }
      settle()
    })
  }

  #take(): Buffer {
    const chunks = this.#chunks
    this.#chunks = []
    this.#queued = 0
    this.#resume()
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  }

  #resume(): void {
    if (this.#controller?.paused) this.#controller.resume()
  }

  #wakeReader(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** As a destroyed Readable: unread chunks are dropped and the waiting reader fails at once. */
  #fail(err: Error): void {
    this.#error = err
    this.#chunks = []
    this.#queued = 0
    this.#close()
    this.#wakeReader()
  }

  #close(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#signal.removeEventListener('abort', this.#onClientAbort)
  }
}
