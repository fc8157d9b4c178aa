// How long to wait before the next attempt. Exponential backoff with "full jitter" (AWS Architecture
// Blog, "Exponential Backoff And Jitter", 2015): a uniform draw in [0, min(max, base * 2^n)). Full
// jitter spreads a herd of clients that failed together better than equal or no jitter, for about
// the same total work. Retry-After from the upstream is a floor on the wait, and the request's
// overall deadline is a hard ceiling.
import type { BackoffSettings } from './config-schema.js'
import type { Rng } from './random.js'

/** The jitter ceiling for the n-th retry (0 for the first): min(max, base * 2^n). */
export function backoffCeiling(retryIndex: number, backoff: BackoffSettings): number {
  return Math.min(backoff.max, backoff.base * 2 ** Math.max(0, retryIndex))
}

/** A full-jitter delay in whole ms in [0, ceiling), additionally kept below `capMs`. */
export function fullJitterDelay(
  retryIndex: number,
  backoff: BackoffSettings,
  rng: Rng,
  capMs = Infinity,
): number {
  const ceiling = Math.min(backoffCeiling(retryIndex, backoff), capMs)
  return ceiling > 0 ? Math.floor(rng() * ceiling) : 0
}

// RFC 9110 §5.6.7: recipients accept all three HTTP-date forms; only IMF-fixdate is sent today.
const imfFixdate = /^[a-z]{3}, \d{2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/i
const rfc850Date = /^[a-z]{6,9}, \d{2}-[a-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/i
const asctimeDate = /^[a-z]{3} [a-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/i
// RFC 9110 §10.2.3 allows only whole seconds; some servers send fractions, which cost nothing to take.
const deltaSeconds = /^\d+(?:\.\d+)?$/

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP-date. A date in the past is 0;
 * anything else unreadable is undefined, so a garbled header falls back to plain backoff.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (deltaSeconds.test(text)) return Math.round(Number(text) * 1000)
  let at = Number.NaN
  if (imfFixdate.test(text) || rfc850Date.test(text)) at = Date.parse(text)
  // asctime carries no zone; Date.parse would read it as local time, HTTP means GMT.
  else if (asctimeDate.test(text)) at = Date.parse(`${text.replace(/\s+/g, ' ')} GMT`)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

export interface WaitInput {
  /** 0 for the first retry, 1 for the second... */
  retryIndex: number
  backoff: BackoffSettings
  rng: Rng
  now: number
  /** The request's overall deadline, in the same clock as `now`. */
  deadline: number
  /** From the failed target's Retry-After; only pass it when retrying that same target. */
  retryAfterMs?: number
}

export type WaitPlan =
  | { wait: true; delayMs: number }
  | { wait: false; reason: 'deadline_passed' }
  /** The upstream asked for more time than is left: don't sleep into a certain timeout. */
  | { wait: false; reason: 'retry_after_beyond_deadline'; retryAfterMs: number }

/**
 * Wait at least Retry-After, and at least the jittered backoff, but always end strictly before the
 * deadline: the jitter is drawn below the time left, and a Retry-After that does not fit means this
 * target cannot be retried in time (fail over to another target or give up instead).
 */
export function planRetryWait(input: WaitInput): WaitPlan {
  const remaining = input.deadline - input.now
  if (remaining <= 0) return { wait: false, reason: 'deadline_passed' }
  const retryAfterMs = input.retryAfterMs
  if (retryAfterMs !== undefined && retryAfterMs >= remaining) {
    return { wait: false, reason: 'retry_after_beyond_deadline', retryAfterMs }
  }
  const jitter = fullJitterDelay(input.retryIndex, input.backoff, input.rng, remaining)
  return { wait: true, delayMs: Math.max(retryAfterMs ?? 0, jitter) }
}
