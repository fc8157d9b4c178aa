// Adds each finished call to the spend store without making the response wait: the write runs after
// onResponse, is retried a few times when the store fails, and is logged in full when it never
// succeeds. On close, writes still in flight are awaited so a graceful shutdown loses nothing.
import { dayMs, utcDay } from './periods.js'
import { type BackgroundLogger, errorText, withRetries } from './retry.js'
import type { SpendEntry, SpendStore } from './spend-store.js'

export interface SpendRecorderOptions {
  store: SpendStore
  log: Pick<BackgroundLogger, 'error'>
  now: () => number
  /** Waits between attempts; one attempt more than delays. */
  retryDelaysMs?: readonly number[]
}

export class SpendRecorder {
  readonly #store: SpendStore
  readonly #log: Pick<BackgroundLogger, 'error'>
  readonly #now: () => number
  readonly #retryDelaysMs: readonly number[]
  readonly #pending = new Set<Promise<unknown>>()
  // The day string is the same for a whole day of calls: built once a day, not once a call.
  #day = ''
  #dayEndsAt = Number.NEGATIVE_INFINITY
  #dayStartsAt = Number.POSITIVE_INFINITY

  constructor(options: SpendRecorderOptions) {
    this.#store = options.store
    this.#log = options.log
    this.#now = options.now
    this.#retryDelaysMs = options.retryDelaysMs ?? [100, 500, 2000]
  }

  record(entry: SpendEntry): void {
    const day = this.#today()
    if (this.#store.addNow) {
      try {
        this.#store.addNow(day, entry)
        return
      } catch {
        // Retried (and logged when it never succeeds) like a failed asynchronous write.
      }
    }
    const write = withRetries(
      () => this.#store.add(day, entry),
      this.#retryDelaysMs,
      (err, attempts) =>
        this.#log.error(
          { err: errorText(err), attempts, spend: { day, ...entry } },
          'spend record lost: the store refused it on every attempt (add it back from this line)',
        ),
    )
    this.#pending.add(write)
    void write.finally(() => this.#pending.delete(write))
  }

  /** Resolves once every write started so far succeeded or was given up. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending])
  }

  #today(): string {
    const now = this.#now()
    if (now >= this.#dayEndsAt || now < this.#dayStartsAt) {
      this.#day = utcDay(now)
      this.#dayStartsAt = now - (now % dayMs)
      this.#dayEndsAt = this.#dayStartsAt + dayMs
    }
    return this.#day
  }
}
