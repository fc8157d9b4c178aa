// The circuit breaker as pure functions over a plain, JSON-serialisable record: (record, now) in,
// next record out. Keeping the logic here and the storage behind BreakerStateStore means the Redis
// store later only has to persist a record atomically (compare-and-set), not re-implement the rules.
import type { CircuitBreakerSettings } from './config-schema.js'

export type BreakerState = 'closed' | 'open' | 'half_open'

/** 'neutral': the call said nothing about the upstream (client went away, 4xx); see retry-policy. */
export type BreakerOutcome = 'success' | 'failure' | 'neutral'

export type TransitionReason =
  | 'consecutive_failures'
  | 'error_rate'
  | 'cooldown_elapsed'
  | 'trial_succeeded'
  | 'trial_failed'

/** Calls in one slice of the sliding window. */
export interface WindowBucket {
  start: number
  ok: number
  failed: number
}

export interface BreakerRecord {
  state: BreakerState
  consecutiveFailures: number
  /** When the breaker last opened (ms); the cooldown counts from here. */
  openedAt: number
  /** When the running half-open trial was admitted (ms), null when none runs; it also names the trial. */
  trialStartedAt: number | null
  /** Closed-state calls of the last window, oldest first. */
  buckets: WindowBucket[]
}

export const closedRecord: BreakerRecord = Object.freeze({
  state: 'closed',
  consecutiveFailures: 0,
  openedAt: 0,
  trialStartedAt: null,
  buckets: [],
}) as BreakerRecord

/** Handed out on admission and given back with the outcome. */
export interface BreakerPermit {
  targetId: string
  /** The trial's admission time for the one half-open trial; null for an ordinary call. */
  trialStartedAt: number | null
  /**
   * Admitted by a closed breaker with no failure streak: a success then only adds to the window's
   * counts, which the breaker writes in batches (see CircuitBreaker's success tally).
   */
  quietSuccess: boolean
}

export type Admission =
  | { admitted: true; permit: BreakerPermit }
  | { admitted: false; state: 'open' | 'half_open'; retryAfterMs: number }

/** The settings in the units the rules work in. */
export interface BreakerPolicy {
  consecutiveFailures: number
  errorRate: number
  minSamples: number
  windowMs: number
  bucketMs: number
  cooldownMs: number
  trialTimeoutMs: number
}

/**
 * Ten buckets per window: the window slides in steps of a tenth (6 s of 60 s), which bounds memory
 * and the stored record's size whatever the traffic.
 */
const bucketsPerWindow = 10

export function toBreakerPolicy(settings: CircuitBreakerSettings): BreakerPolicy {
  const windowMs = settings.window_s * 1000
  return {
    consecutiveFailures: settings.consecutive_failures,
    errorRate: settings.error_rate,
    minSamples: settings.min_samples,
    windowMs,
    bucketMs: Math.max(1, Math.floor(windowMs / bucketsPerWindow)),
    cooldownMs: settings.cooldown_s * 1000,
    trialTimeoutMs: settings.trial_timeout_s * 1000,
  }
}

export interface Step<T> {
  /** Absent: nothing to write. */
  next?: BreakerRecord
  result: T
  transition?: { from: BreakerState; to: BreakerState; reason: TransitionReason }
}

const trialRunning = (record: BreakerRecord, now: number, policy: BreakerPolicy) =>
  record.trialStartedAt !== null && now - record.trialStartedAt < policy.trialTimeoutMs

/** What GET /health/providers shows: an open breaker past its cooldown is half-open in effect. */
export function effectiveState(record: BreakerRecord, now: number, policy: BreakerPolicy): BreakerState {
  if (record.state === 'open' && now - record.openedAt >= policy.cooldownMs) return 'half_open'
  return record.state
}

/** How long until a call could be admitted; 0 when one would be now. */
export function msUntilAdmission(record: BreakerRecord, now: number, policy: BreakerPolicy): number {
  if (record.state === 'open') return Math.max(0, record.openedAt + policy.cooldownMs - now)
  if (record.state === 'half_open' && trialRunning(record, now, policy)) {
    // Unknown until the trial ends; it reopens for a cooldown at worst, and the lease caps the wait.
    return Math.min(policy.cooldownMs, record.trialStartedAt! + policy.trialTimeoutMs - now)
  }
  return 0
}

export function admit(
  record: BreakerRecord,
  targetId: string,
  now: number,
  policy: BreakerPolicy,
): Step<Admission> {
  if (record.state === 'closed') {
    const permit = { targetId, trialStartedAt: null, quietSuccess: record.consecutiveFailures === 0 }
    return { result: { admitted: true, permit } }
  }
  const wait = msUntilAdmission(record, now, policy)
  if (wait > 0) {
    return { result: { admitted: false, state: record.state, retryAfterMs: wait } }
  }
  // Cooldown over, or the previous trial's lease expired (its caller crashed or never reported):
  // this caller is the one trial; the compare-and-set makes sure nobody else is.
  const next: BreakerRecord = { ...record, state: 'half_open', trialStartedAt: now }
  const result: Admission = {
    admitted: true,
    permit: { targetId, trialStartedAt: now, quietSuccess: false },
  }
  if (record.state === 'open') {
    return { next, result, transition: { from: 'open', to: 'half_open', reason: 'cooldown_elapsed' } }
  }
  return { next, result }
}

const bucketStart = (now: number, policy: BreakerPolicy) => now - (now % policy.bucketMs)

function countInWindow(
  buckets: readonly WindowBucket[],
  now: number,
  policy: BreakerPolicy,
  failed: boolean,
) {
  const start = bucketStart(now, policy)
  const kept = buckets.filter((b) => b.start > now - policy.windowMs)
  const last = kept.at(-1)
  if (last && last.start === start) {
    kept[kept.length - 1] = { start, ok: last.ok + (failed ? 0 : 1), failed: last.failed + (failed ? 1 : 0) }
  } else {
    kept.push({ start, ok: failed ? 0 : 1, failed: failed ? 1 : 0 })
  }
  return kept
}

/** Counts one success into a tally of successes not yet stored (buckets oldest first, in place). */
export function tallySuccess(tally: WindowBucket[], now: number, policy: BreakerPolicy): void {
  const start = bucketStart(now, policy)
  const last = tally.at(-1)
  if (last && last.start === start) last.ok++
  else tally.push({ start, ok: 1, failed: 0 })
}

/**
 * The record with a tally of successes added to its window. Successes only count towards a closed
 * breaker: one that opened meanwhile, or closed again with a fresh window, has no use for them (the
 * latter only when a whole open-trial-close cycle fits in one flush interval). Neither do they reset
 * the failure streak: another replica's failures may have come after them.
 */
export function addSuccesses(
  record: BreakerRecord,
  tally: readonly WindowBucket[],
  now: number,
  policy: BreakerPolicy,
): BreakerRecord {
  if (record.state !== 'closed' || tally.length === 0) return record
  const byStart = new Map<number, WindowBucket>()
  for (const bucket of [...record.buckets, ...tally]) {
    if (bucket.start <= now - policy.windowMs) continue
    const seen = byStart.get(bucket.start)
    byStart.set(
      bucket.start,
      seen ? { start: bucket.start, ok: seen.ok + bucket.ok, failed: seen.failed + bucket.failed } : bucket,
    )
  }
  const buckets = [...byStart.values()].sort((a, b) => a.start - b.start)
  return { ...record, buckets }
}

function openReason(record: BreakerRecord, policy: BreakerPolicy): TransitionReason | undefined {
  if (record.consecutiveFailures >= policy.consecutiveFailures) return 'consecutive_failures'
  let ok = 0
  let failed = 0
  for (const bucket of record.buckets) {
    ok += bucket.ok
    failed += bucket.failed
  }
  // A rate over a handful of calls is noise: 1 failure in 2 calls is not a 50% error rate.
  if (ok + failed >= policy.minSamples && failed / (ok + failed) >= policy.errorRate) return 'error_rate'
  return undefined
}

export function settle(
  record: BreakerRecord,
  permit: BreakerPermit,
  outcome: BreakerOutcome,
  now: number,
  policy: BreakerPolicy,
): Step<void> {
  const result = undefined
  if (permit.trialStartedAt !== null) {
    // Only the current trial decides; a trial whose lease expired and was replaced is ignored.
    if (record.state !== 'half_open' || record.trialStartedAt !== permit.trialStartedAt) return { result }
    if (outcome === 'success') {
      return {
        next: closedRecord,
        result,
        transition: { from: 'half_open', to: 'closed', reason: 'trial_succeeded' },
      }
    }
    if (outcome === 'failure') {
      const next: BreakerRecord = { ...record, state: 'open', openedAt: now, trialStartedAt: null }
      return { next, result, transition: { from: 'half_open', to: 'open', reason: 'trial_failed' } }
    }
    // No verdict: free the slot so the next caller runs the trial instead of waiting out the lease.
    return { next: { ...record, trialStartedAt: null }, result }
  }
  // Calls admitted before the breaker opened say nothing the breaker does not know already.
  if (record.state !== 'closed' || outcome === 'neutral') return { result }
  const failed = outcome === 'failure'
  const next: BreakerRecord = {
    ...record,
    consecutiveFailures: failed ? record.consecutiveFailures + 1 : 0,
    buckets: countInWindow(record.buckets, now, policy, failed),
  }
  const reason = failed ? openReason(next, policy) : undefined
  if (!reason) return { next, result }
  // The window starts afresh after the breaker closes again, so old failures cannot re-trip it.
  const opened: BreakerRecord = {
    state: 'open',
    consecutiveFailures: 0,
    openedAt: now,
    trialStartedAt: null,
    buckets: [],
  }
  return { next: opened, result, transition: { from: 'closed', to: 'open', reason } }
}
