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
import {
  type Admission,
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
  toBreakerPolicy,
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

// Any thenable counts, not only native promises: a Redis client may hand back its own.
const isThenable = <A>(value: MaybePromise<A>): value is Promise<A> =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function'

const then = <A, B>(value: MaybePromise<A>, next: (a: A) => MaybePromise<B>): MaybePromise<B> =>
  isThenable(value) ? value.then(next) : next(value)

export class CircuitBreaker {
  readonly policy: BreakerPolicy
  readonly #store: BreakerStateStore
  readonly #now: Clock
  readonly #onTransition: ((transition: BreakerTransition) => void) | undefined

  constructor(options: CircuitBreakerOptions) {
    this.policy = toBreakerPolicy(options.settings)
    this.#store = options.store ?? new MemoryBreakerStore()
    this.#now = options.now ?? Date.now
    this.#onTransition = options.onTransition
  }

  /**
   * Asks to call the target. Closed: always admitted. Open: refused until the cooldown ends, then the
   * first caller becomes the one trial and every other caller is refused until it reports back.
   */
  async tryAcquire(targetId: string): Promise<Admission> {
    const refused: Admission = { admitted: false, state: 'half_open', retryAfterMs: this.policy.cooldownMs }
    return this.#update(targetId, (record, now) => admit(record, targetId, now, this.policy), refused)
  }

  /** Reports how an admitted call went: 'success' at the first byte, 'failure' or 'neutral' from retry-policy. */
  async record(permit: BreakerPermit, outcome: BreakerOutcome): Promise<void> {
    return this.#update(
      permit.targetId,
      (record, now) => settle(record, permit, outcome, now, this.policy),
      undefined,
    )
  }

  /** True while a call would be refused: for filterEligible and GET /health/ready. */
  async isOpen(targetId: string): Promise<boolean> {
    return (await this.snapshot(targetId)).retryAfterMs > 0
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

  // Read, decide, compare-and-set, repeat on conflict. With the memory store nothing here awaits, so
  // a round is atomic within the process and never loses.
  #update<T>(
    targetId: string,
    decide: (record: BreakerRecord, now: number) => Step<T>,
    onContention: T,
  ): Promise<T> {
    const round = (left: number): MaybePromise<T> => {
      if (left === 0) return onContention
      return then(this.#store.load(targetId), (stored: StoredBreaker | undefined) => {
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
    return Promise.resolve(round(maxWriteRounds))
  }
}
