// The per-attempt deadline: a target's `timeout_ms`, capped by what is left of `routing.timeout_ms`.
// Both settings were read from config but never enforced, so a stalled upstream held the request
// until the provider's own timeouts (minutes by default) and no retry happened in time; found by
// test/routing-retries.test.ts ("stalls past the target's own timeout_ms").
import { GatewayError } from '../gateway-error.js'
import { LinkedAbort } from './linked-abort.js'

export interface AttemptTimer {
  /** Passed to the adapter instead of the client's signal: aborts on client abort or timeout. */
  signal: AbortSignal
  /** True once the deadline aborted the attempt (not the client). */
  readonly timedOut: boolean
  /** Stops the clock: the call answered (or its stream sent a first item) or failed. */
  stop(): void
  /** Stops following the outer signal: for callers whose signal outlives many attempts. */
  unlink(): void
}

/**
 * Starts the clock for one attempt. The client's abort is forwarded for as long as the request
 * lives, so a stream that outlives stop() is still cut when the client goes away.
 */
export function startAttemptTimer(client: AbortSignal, limitMs: number): AttemptTimer {
  return new Attempt(client, limitMs)
}

/**
 * Not an AbortController: see linked-abort.ts. It follows the client until the request is over
 * (the client's signal is per call), so no unlink is needed. One object per attempt, being its own
 * signal, rather than a signal plus closures and the object holding them.
 */
class Attempt extends LinkedAbort implements AttemptTimer {
  timedOut = false
  readonly #timer: NodeJS.Timeout

  constructor(client: AbortSignal, limitMs: number) {
    super(client)
    this.#timer = setTimeout(
      () => {
        this.timedOut = true
        this.abort()
      },
      Math.max(1, limitMs),
    )
  }

  stop(): void {
    clearTimeout(this.#timer)
  }
}

/** A retryable 504 (code upstream_timeout), naming the setting that ran out. */
export function attemptTimedOut(
  provider: string,
  model: string,
  limitMs: number,
  setting: 'timeout_ms' | 'routing.timeout_ms',
): GatewayError {
  const which =
    setting === 'timeout_ms'
      ? `the timeout_ms of target ${provider}/${model}`
      : 'what was left of routing.timeout_ms'
  return new GatewayError(
    504,
    `Provider "${provider}" (model ${model}) did not answer within ${limitMs} ms (${which}); ` +
      'raise that setting if the model needs longer.',
    'timeout_error',
    'upstream_timeout',
  )
}
