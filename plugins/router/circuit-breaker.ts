// Per-target circuit breakers: stop sending calls to an upstream that keeps failing, and let exactly
// one trial call through after a cooldown to find out whether it is back.
//
// Hand-written rather than cockatiel (the library issue #4 suggests), for three reasons:
// - state must be shareable through Redis; cockatiel 3.x keeps it inside the policy object (its
//   `execute` reads and writes `this.innerState`), with no store to plug in;
// - a half-open cockatiel breaker makes concurrent callers wait for the trial's result; a gateway
//   must refuse them at once so they fail over to another target instead of queueing;
// - cockatiel reads Date.now() directly and wraps the call (`execute(fn)`), while the router must
//   report success at the first byte of a stream and take an injected clock in tests.
// The rules themselves are pure functions in breaker-state.ts; this class adds the store, the clock
// and the transition callback.
//
// Store round trips on the request path, with Redis: the router reads each target's record once
// (peek) and admits from that read when admission writes nothing (a closed breaker). A success on a
// closed breaker with no failure streak only adds to the window's counts, so it is tallied in
// process and written at most every successFlushMs, or with the next outcome this process writes for
// the target (a failure carries the tally with it, so the error rate it is judged on counts them).
// Failures and state changes are written at once, by compare-and-set, as before. The memory store
// tallies too: there a write is no round trip, but it is a new record with a new window (a filtered
// bucket array, a bucket, the step and the closures of a compare-and-set round) on every call.
import {
  type Admission,
  addSuccesses,
  admit,
  type BreakerOutcome,
  type BreakerPermit,
  type BreakerPolicy,
  type BreakerRecord,
  type BreakerState,
  closedRecord,
  effectiveState,
  msUntilAdmission,
  type Step,
  settle,
  type TransitionReason,
  tallySuccess,
  toBreakerPolicy,
  type WindowBucket,
} from './breaker-state.js'
import {
  type BreakerStateStore,
  type MaybePromise,
  MemoryBreakerStore,
  type StoredBreaker,
} from './breaker-store.js'
import type { CircuitBreakerSettings } from './config-schema.js'
import type { Clock } from './types.js'

export interface BreakerTransition {
  targetId: string
  from: BreakerState
  to: BreakerState
  reason: TransitionReason
  at: number
}

export interface CircuitBreakerOptions {
  settings: CircuitBreakerSettings
  store?: BreakerStateStore
  now?: Clock
  /** For metrics and logs; called once per transition this process made. Must not throw. */
  onTransition?: (transition: BreakerTransition) => void
  /**
   * How long successes on a quiet breaker may wait in process before they are written; 0 writes each
   * at once. Default: 1000, with either store (see above).
   */
  successFlushMs?: number
}

/** A target's record as one read found it: what the router decides eligibility on and admits from. */
export interface BreakerView {
  targetId: string
  stored: StoredBreaker | undefined
  /** The breaker's clock at the read. */
  loadedAt: number
  /** True while a call would be refused. */
  open: boolean
  /** 0 when a call would be admitted now. */
  retryAfterMs: number
}

export interface BreakerSnapshot {
  state: BreakerState
  consecutiveFailures: number
  /** 0 when a call would be admitted now. */
  retryAfterMs: number
}

/**
 * A compare-and-set only loses to a concurrent writer on the same target, which then made progress;
 * after this many lost rounds the caller gives up (a refused admission, a dropped sample).
 */
const maxWriteRounds = 16

/**
 * A view older than this is read again before admitting: a breaker another call opened since must
 * be seen. The router admits its first target right after the read, well within it.
 */
const viewFreshMs = 250

const defaultSuccessFlushMs = 1000

// Any thenable counts, not only native promises: a Redis client may hand back its own.
export const isThenable = <A>(value: MaybePromise<A>): value is Promise<A> =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function'

const then = <A, B>(value: MaybePromise<A>, next: (a: A) => MaybePromise<B>): MaybePromise<B> =>
  isThenable(value) ? value.then(next) : next(value)

export class CircuitBreaker {
  readonly policy: BreakerPolicy
  readonly #store: BreakerStateStore
  readonly #now: Clock
  readonly #onTransition: ((transition: BreakerTransition) => void) | undefined
  readonly #successFlushMs: number
  /** What a caller gets after losing every compare-and-set round: made once, it is the same each time. */
  readonly #contended: Admission
  /** Per target, successes not written yet (buckets oldest first). */
  readonly #tally = new Map<string, WindowBucket[]>()
  #flushTimer: NodeJS.Timeout | undefined

  constructor(options: CircuitBreakerOptions) {
    this.policy = toBreakerPolicy(options.settings)
    this.#store = options.store ?? new MemoryBreakerStore()
    this.#now = options.now ?? Date.now
    this.#onTransition = options.onTransition
    this.#successFlushMs = options.successFlushMs ?? defaultSuccessFlushMs
    this.#contended = Object.freeze({
      admitted: false,
      state: 'half_open',
      retryAfterMs: this.policy.cooldownMs,
    })
  }

  /** One read of the target's record; pass it on to tryAcquire to admit without reading again. */
  async peek(targetId: string): Promise<BreakerView> {
    return this.read(targetId)
  }

  // read, acquire and report are peek, tryAcquire and record without a promise when the store
  // answers at once (the memory store): the router calls each on every request, and each promise
  // and await is a microtask turn.

  read(targetId: string): MaybePromise<BreakerView> {
    const stored = this.#store.load(targetId)
    // No closure when the store answered at once: this runs for every target of every call.
    return isThenable(stored)
      ? stored.then((loaded) => this.#viewOf(targetId, loaded))
      : this.#viewOf(targetId, stored)
  }

  #viewOf(targetId: string, stored: StoredBreaker | undefined): BreakerView {
    const loadedAt = this.#now()
    const retryAfterMs = msUntilAdmission(stored?.record ?? closedRecord, loadedAt, this.policy)
    return { targetId, stored, loadedAt, open: retryAfterMs > 0, retryAfterMs }
  }

  /**
   * Asks to call the target. Closed: always admitted. Open: refused until the cooldown ends, then the
   * first caller becomes the one trial and every other caller is refused until it reports back.
   * `seen`, a fresh peek of this target, stands in for the first read: a closed breaker then admits
   * without a round trip, and a trial's compare-and-set still fails if anyone wrote since.
   */
  async tryAcquire(targetId: string, seen?: BreakerView): Promise<Admission> {
    return this.acquire(targetId, seen)
  }

  acquire(targetId: string, seen?: BreakerView): MaybePromise<Admission> {
    const now = this.#now()
    const fresh = seen?.targetId === targetId && now - seen.loadedAt <= viewFreshMs ? seen : undefined
    // A closed breaker admits without writing anything: answered from the fresh view at once, as the
    // round below would, without building its closures on every call.
    const seenRecord = fresh && (fresh.stored?.record ?? closedRecord)
    if (seenRecord?.state === 'closed') return admit(seenRecord, targetId, now, this.policy).result
    return this.#update(
      targetId,
      (record, at) => admit(record, targetId, at, this.policy),
      this.#contended,
      fresh,
    )
  }

  /** Reports how an admitted call went: 'success' at the first byte, 'failure' or 'neutral' from retry-policy. */
  async record(permit: BreakerPermit, outcome: BreakerOutcome): Promise<void> {
    return this.report(permit, outcome)
  }

  report(permit: BreakerPermit, outcome: BreakerOutcome): MaybePromise<void> {
    const { targetId } = permit
    // An ordinary call without a verdict changes nothing (settle ignores it): no read needed.
    if (permit.trialStartedAt === null && outcome === 'neutral') return
    if (outcome === 'success' && permit.quietSuccess && this.#successFlushMs > 0) {
      this.#tallySuccess(targetId)
      return
    }
    const tally = this.#takeTally(targetId)
    return this.#update(
      targetId,
      (record, now) => {
        const counted = addSuccesses(record, tally, now, this.policy)
        const step = settle(counted, permit, outcome, now, this.policy)
        return step.next || counted === record ? step : { ...step, next: counted }
      },
      undefined,
    )
  }

  /** Writes the tallied successes now (the timer does it every successFlushMs; shutdown, tests). */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    const targets = [...this.#tally.keys()]
    await Promise.all(
      targets.map((targetId) => {
        const tally = this.#takeTally(targetId)
        return this.#update(
          targetId,
          (record, now) => {
            const counted = addSuccesses(record, tally, now, this.policy)
            return { next: counted === record ? undefined : counted, result: undefined }
          },
          undefined,
        )
      }),
    )
  }

  /** True while a call would be refused: for GET /health/ready. */
  async isOpen(targetId: string): Promise<boolean> {
    return (await this.peek(targetId)).open
  }

  async snapshot(targetId: string): Promise<BreakerSnapshot> {
    const record = (await this.#store.load(targetId))?.record ?? closedRecord
    const now = this.#now()
    return {
      state: effectiveState(record, now, this.policy),
      consecutiveFailures: record.consecutiveFailures,
      retryAfterMs: msUntilAdmission(record, now, this.policy),
    }
  }

  #tallySuccess(targetId: string): void {
    let tally = this.#tally.get(targetId)
    if (!tally) {
      tally = []
      this.#tally.set(targetId, tally)
    }
    tallySuccess(tally, this.#now(), this.policy)
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined
        // The stores answer failures with store.on_error themselves; should one still throw, the
        // tally is dropped, as a lost compare-and-set drops a sample.
        this.flush().catch(() => {})
      }, this.#successFlushMs)
      // Pending counts never keep a process alive.
      this.#flushTimer.unref()
    }
  }

  #takeTally(targetId: string): readonly WindowBucket[] {
    const tally = this.#tally.get(targetId)
    if (!tally) return []
    this.#tally.delete(targetId)
    return tally
  }

  // Read, decide, compare-and-set, repeat on conflict. With the memory store nothing here awaits, so
  // a round is atomic within the process and never loses. `seen` replaces the first round's read.
  #update<T>(
    targetId: string,
    decide: (record: BreakerRecord, now: number) => Step<T>,
    onContention: T,
    seen?: BreakerView,
  ): MaybePromise<T> {
    const round = (left: number, first?: BreakerView): MaybePromise<T> => {
      if (left === 0) return onContention
      const loaded = first ? first.stored : this.#store.load(targetId)
      return then(loaded, (stored: StoredBreaker | undefined) => {
        const now = this.#now()
        const step = decide(stored?.record ?? closedRecord, now)
        const next = step.next
        if (!next) return step.result
        return then(this.#store.compareAndSet(targetId, stored?.version ?? 0, next), (written) => {
          if (!written) return round(left - 1)
          if (step.transition) this.#onTransition?.({ targetId, ...step.transition, at: now })
          return step.result
        })
      })
    }
    return round(maxWriteRounds, seen)
  }
}
