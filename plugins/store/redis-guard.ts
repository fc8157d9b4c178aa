// What every Redis-backed store does when Redis fails, in one place: answer as `store.on_error` says
// instead of throwing into the request path, warn at most every few seconds instead of per call, and
// stop asking Redis for a moment after a failure. The client's own timeouts (plugins/store/index.ts)
// bound one command; the pause keeps a hung Redis from costing every request that bound again.
import { performance } from 'node:perf_hooks'

export type OnStoreError = 'allow' | 'deny'

export interface StoreLogger {
  warn(details: object, message: string): void
}

export interface RedisGuardOptions {
  onError: OnStoreError
  /** Names the store in warnings: `breaker`, later `rate-limit`, `budget`, ... */
  store: string
  log?: StoreLogger
  /** After a failure, calls skip Redis for this long and take the on_error answer at once. */
  pauseMs?: number
  warnEveryMs?: number
  /** Monotonic milliseconds; tests move it by hand. */
  clock?: () => number
  /** Called each time a call gets the on_error answer, e.g. app.metrics.countStoreFallback. Must not throw. */
  onFallback?: (store: string, onError: OnStoreError) => void
}

export class RedisGuard {
  readonly onError: OnStoreError
  readonly #store: string
  readonly #log: StoreLogger | undefined
  readonly #pauseMs: number
  readonly #warnEveryMs: number
  readonly #clock: () => number
  readonly #onFallback: ((store: string, onError: OnStoreError) => void) | undefined
  #pausedUntil = Number.NEGATIVE_INFINITY
  #lastWarnAt = Number.NEGATIVE_INFINITY
  #unreported = 0

  constructor(options: RedisGuardOptions) {
    this.onError = options.onError
    this.#store = options.store
    this.#log = options.log
    this.#pauseMs = options.pauseMs ?? 1000
    this.#warnEveryMs = options.warnEveryMs ?? 10_000
    this.#clock = options.clock ?? (() => performance.now())
    this.#onFallback = options.onFallback
  }

  /** `call` against Redis, or `degraded()` (the on_error answer) when it fails or Redis is paused. */
  async run<T>(operation: string, call: () => Promise<T>, degraded: () => T): Promise<T> {
    if (this.#clock() < this.#pausedUntil) {
      this.#unreported++
      this.#onFallback?.(this.#store, this.onError)
      return degraded()
    }
    try {
      return await call()
    } catch (err) {
      this.#pausedUntil = this.#clock() + this.#pauseMs
      this.#warn(operation, err)
      this.#onFallback?.(this.#store, this.onError)
      return degraded()
    }
  }

  #warn(operation: string, err: unknown): void {
    const now = this.#clock()
    if (now - this.#lastWarnAt < this.#warnEveryMs) {
      this.#unreported++
      return
    }
    this.#lastWarnAt = now
    const suppressed = this.#unreported
    this.#unreported = 0
    this.#log?.warn(
      {
        store: this.#store,
        operation,
        on_error: this.onError,
        err: err instanceof Error ? err.message : String(err),
        suppressed,
      },
      this.onError === 'allow'
        ? 'state store unavailable: serving without shared state (store.on_error: allow)'
        : 'state store unavailable: refusing calls (store.on_error: deny)',
    )
  }
}
