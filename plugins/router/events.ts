// What the router tells the rest of the gateway about its work: metrics count it, tracing turns it
// into spans. Observers are called synchronously on the request path, so they must be cheap and must
// not throw; the router builds an event only when some observer wants that kind.
import type { BreakerTransition } from './circuit-breaker.js'
import type { StrategyName } from './config-schema.js'
import type { SkipReason } from './eligibility.js'
import type { FallbackKind } from './fallback-chain.js'
import type { RouteTarget } from './types.js'

export interface RoutingDecisionEvent {
  /** The request's id (request.id), to tie the event to the request, e.g. as a child span. */
  requestId: string
  /** The public model (or `<provider>/<model>`) being routed. */
  model: string
  strategy: StrategyName
  /**
   * The targets in the order they will be tried; empty when none is usable. The router's own arrays,
   * not copies made per call: an observer that keeps them past the call copies them.
   */
  order: readonly RouteTarget[]
  skipped: ReadonlyArray<{ target: RouteTarget; reason: SkipReason }>
}

export interface AttemptStartEvent {
  requestId: string
  model: string
  target: RouteTarget
  /** 1 for the first attempt of the request, counting across fallbacks. */
  attempt: number
}

export interface AttemptEndEvent extends AttemptStartEvent {
  outcome: 'success' | 'failure' | 'client_abort'
  /** The gateway status the failure maps to, or null (success, network error without status). */
  status: number | null
  /** Stable reason for failures, from retry-policy's classification: 'status_503', 'code_upstream_timeout'. */
  reason: string | null
  /** What the router does next after a failure. */
  next: 'retry' | 'fallback' | 'give-up' | null
  durationMs: number
}

/** A target refused when its turn came (max_rpm reached, or its breaker opened meanwhile). */
export interface SkipEvent {
  requestId: string
  model: string
  target: string
  reason: SkipReason
}

export interface FallbackEvent {
  requestId: string
  from: string
  to: string
  kind: FallbackKind
}

export interface RouterObserver {
  decision?(event: RoutingDecisionEvent): void
  attemptStart?(event: AttemptStartEvent): void
  attemptEnd?(event: AttemptEndEvent): void
  fallback?(event: FallbackEvent): void
  /** Skips at a target's turn; skips known before the order was made are in decision(). */
  skip?(event: SkipEvent): void
  breaker?(event: BreakerTransition): void
  /**
   * Runs an attempt's upstream call (after attemptStart) and returns its result: tracing makes the
   * attempt's span current around it, so the upstream request carries the attempt's traceparent.
   */
  attemptScope?<T>(requestId: string, attempt: number, run: () => Promise<T>): Promise<T>
}

/** The observers of one router; add() is how plugins registered after the router subscribe. */
export class RouterObservers {
  readonly #all: RouterObserver[] = []
  wantsDecisions = false
  wantsAttempts = false
  /** Some observer wraps the upstream calls (attemptScope); without one the router calls directly. */
  scopesAttempts = false

  add(observer: RouterObserver): void {
    this.#all.push(observer)
    this.wantsDecisions ||= observer.decision !== undefined || observer.skip !== undefined
    this.wantsAttempts ||= observer.attemptStart !== undefined || observer.attemptEnd !== undefined
    this.scopesAttempts ||= observer.attemptScope !== undefined
  }

  /** `run` inside every observer's attemptScope, the first added outermost. */
  inAttemptScope<T>(requestId: string, attempt: number, run: () => Promise<T>): Promise<T> {
    let wrapped = run
    for (const observer of [...this.#all].reverse()) {
      if (!observer.attemptScope) continue
      const inner = wrapped
      wrapped = () => observer.attemptScope!(requestId, attempt, inner)
    }
    return wrapped()
  }

  decision(event: RoutingDecisionEvent): void {
    for (const o of this.#all) o.decision?.(event)
  }

  attemptStart(event: AttemptStartEvent): void {
    for (const o of this.#all) o.attemptStart?.(event)
  }

  attemptEnd(event: AttemptEndEvent): void {
    for (const o of this.#all) o.attemptEnd?.(event)
  }

  skip(event: SkipEvent): void {
    for (const o of this.#all) o.skip?.(event)
  }

  fallback(event: FallbackEvent): void {
    for (const o of this.#all) o.fallback?.(event)
  }

  breaker(event: BreakerTransition): void {
    for (const o of this.#all) o.breaker?.(event)
  }
}
