// An abort signal for the router's per-call and per-attempt signals: aborted by its owner (drain cut,
// attempt deadline) or when the signal it follows aborts. It is not an EventTarget: a real
// AbortController plus an EventTarget listener on its source cost several µs per request each, and
// the holder and the attempt timer made one per call. Its readers (the router, upstream-client,
// undici, node:timers/promises) only use `aborted`, `reason` and add/removeEventListener('abort'),
// which it implements with the same semantics: listeners run once, in the order added, with no
// duplicates; one added after the abort never runs.

type Listener = (event: { type: 'abort' }) => void

const abortEvent = { type: 'abort' } as const

function notify(listener: Listener): void {
  try {
    listener(abortEvent)
  } catch (err) {
    // As an EventTarget does: the other listeners still run, the error is reported uncaught.
    process.nextTick(() => {
      throw err
    })
  }
}

export class LinkedAbort {
  aborted = false
  #reason: unknown = undefined
  /** One listener as itself (the usual case: the signal that follows this one), more as an array. */
  #listeners: Listener | Listener[] | undefined
  #source: AbortSignal | undefined
  readonly #follow: (() => void) | undefined

  /** With a source: aborts when it does (already aborted: at once), with its reason. */
  constructor(source?: AbortSignal) {
    if (!source) return
    if (source.aborted) {
      this.abort(source.reason)
      return
    }
    this.#source = source
    this.#follow = () => this.abort(source.reason)
    source.addEventListener('abort', this.#follow, { once: true })
  }

  /** As AbortController's: a DOMException named AbortError when aborted without one. */
  get reason(): unknown {
    if (this.aborted && this.#reason === undefined)
      this.#reason = new DOMException('This operation was aborted', 'AbortError')
    return this.#reason
  }

  addEventListener(type: string, listener: Listener): void {
    if (type !== 'abort' || this.aborted || typeof listener !== 'function') return
    const listeners = this.#listeners
    if (!listeners) this.#listeners = listener
    else if (typeof listeners === 'function') {
      if (listeners !== listener) this.#listeners = [listeners, listener]
    } else if (!listeners.includes(listener)) listeners.push(listener)
  }

  removeEventListener(type: string, listener: Listener): void {
    const listeners = this.#listeners
    if (type !== 'abort' || !listeners) return
    if (typeof listeners === 'function') {
      if (listeners === listener) this.#listeners = undefined
      return
    }
    const at = listeners.indexOf(listener)
    if (at >= 0) listeners.splice(at, 1)
  }

  /** Stops following the source, so a long-lived source does not keep this signal reachable. */
  unlink(): void {
    if (this.#source && this.#follow) this.#source.removeEventListener('abort', this.#follow)
    this.#source = undefined
  }

  abort(reason?: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.#reason = reason
    this.unlink()
    const listeners = this.#listeners
    this.#listeners = undefined
    if (!listeners) return
    if (typeof listeners === 'function') notify(listeners)
    else for (const listener of listeners) notify(listener)
  }

  /** Typed as what its readers declare; the object honours the part of AbortSignal they use. */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal
  }
}
