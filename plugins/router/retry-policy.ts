// What a failed attempt means for the request: try again (another target first), move to a fallback
// model, or stop. Classification reads GatewayError.statusCode and .code only, after the adapters
// have mapped upstream statuses (upstream 500 -> 502, 503/529 -> 503, 504 -> 504), so the router
// never parses provider bodies itself.
import { ClientAbortError, GatewayError } from '../gateway-error.js'
import { parseRetryAfter, planRetryWait } from './backoff.js'
import type { BreakerOutcome } from './breaker-state.js'
import type { BackoffSettings } from './config-schema.js'
import type { FallbackKind } from './fallback-chain.js'
import type { Rng } from './random.js'

export type FailureKind = 'retry' | 'fallback-context' | 'fallback-content-policy' | 'fatal'

/**
 * What a failure says about the target, for its circuit breaker. Only 'failure' counts against it:
 * a 4xx (or a client that went away) says nothing about the upstream's health.
 */
export type BreakerVerdict = Exclude<BreakerOutcome, 'success'>

export interface FailureClassification {
  kind: FailureKind
  breaker: BreakerVerdict
  status: number | null
  code: string | null
  /** Short, stable, for logs and metric labels: 'status_503', 'code_upstream_timeout', ... */
  reason: string
  /** The failed target's Retry-After, when it sent one. */
  retryAfterMs?: number
}

/** 529 is Anthropic's "overloaded"; 500 and 529 only arrive unmapped from third-party adapters. */
export const retryableStatuses: ReadonlySet<number> = new Set([429, 500, 502, 503, 504, 529])
/** Set by providers/shared/upstream-client.ts for connect failures and each timeout phase. */
export const retryableCodes: ReadonlySet<string> = new Set(['upstream_unreachable', 'upstream_timeout'])
/**
 * A content-filter refusal. Adapters signal one by this code (or type): Azure OpenAI answers 400 with
 * code "content_filter", OpenAI uses "content_policy_violation". An adapter whose upstream refuses
 * with a 200 (Gemini's promptFeedback.blockReason) should throw a GatewayError with code
 * "content_filter" for content_policy_fallbacks to apply.
 */
export const contentPolicyCodes: ReadonlySet<string> = new Set(['content_filter', 'content_policy_violation'])
/** Our own 503s: retrying inside a gateway that is shutting down cannot help. */
const gatewayOwnCodes: ReadonlySet<string> = new Set(['draining'])
/** Raw socket errors, in case a third-party adapter lets one through unmapped. */
const networkErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

export function isContentPolicyRefusal(error: GatewayError): boolean {
  return (error.code !== null && contentPolicyCodes.has(error.code)) || contentPolicyCodes.has(error.type)
}

export function classifyFailure(error: unknown, now: number = Date.now()): FailureClassification {
  if (error instanceof ClientAbortError) {
    return { kind: 'fatal', breaker: 'neutral', status: null, code: null, reason: 'client_abort' }
  }
  if (!(error instanceof GatewayError)) {
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string' && networkErrorCodes.has(code)) {
      return { kind: 'retry', breaker: 'failure', status: null, code, reason: `network_${code}` }
    }
    // A bug in our code or an adapter: not the upstream's fault, and a retry would hit it again.
    return { kind: 'fatal', breaker: 'neutral', status: null, code: null, reason: 'not_a_gateway_error' }
  }
  const { statusCode: status, code } = error
  const base = { status, code }
  // Codes before statuses: a context overflow can come as 400 or 413, a refusal as 400.
  if (code === 'context_length_exceeded') {
    return { ...base, kind: 'fallback-context', breaker: 'neutral', reason: 'code_context_length_exceeded' }
  }
  if (isContentPolicyRefusal(error)) {
    return { ...base, kind: 'fallback-content-policy', breaker: 'neutral', reason: 'content_policy' }
  }
  if (code !== null && gatewayOwnCodes.has(code)) {
    return { ...base, kind: 'fatal', breaker: 'neutral', reason: `code_${code}` }
  }
  const retryAfterMs = parseRetryAfter(error.headers['retry-after'], now)
  const withRetryAfter = retryAfterMs === undefined ? {} : { retryAfterMs }
  if (code !== null && retryableCodes.has(code)) {
    return { ...base, ...withRetryAfter, kind: 'retry', breaker: 'failure', reason: `code_${code}` }
  }
  if (retryableStatuses.has(status)) {
    return { ...base, ...withRetryAfter, kind: 'retry', breaker: 'failure', reason: `status_${status}` }
  }
  // 400/401/403/404/413/422 and every other status: the same request would fail the same way.
  return { ...base, kind: 'fatal', breaker: 'neutral', reason: `status_${status}` }
}

export interface StepInput {
  classification: FailureClassification
  /** Attempts made on the current public model, the failed one included. */
  attemptsInGroup: number
  /** routing.retries: extra attempts allowed per public model. */
  retries: number
  /** Targets of the current group not attempted yet and still eligible. */
  untriedTargets: number
  /** Fallback models not tried yet, per kind, in chain order (fallbackChain minus the tried ones). */
  fallbacks: Readonly<Record<FallbackKind, readonly string[]>>
  /** Bytes already went to the client: the stream cannot be restarted elsewhere. */
  streamCommitted: boolean
  now: number
  deadline: number
  backoff: BackoffSettings
  rng: Rng
}

export type GiveUpReason =
  | 'stream_committed'
  | 'deadline_passed'
  | 'fatal'
  | 'no_fallback'
  | 'retries_exhausted'
  | 'retry_after_beyond_deadline'

export type NextStep =
  /** 'next-target': the next untried target in the strategy's order; 'same-target': the one that failed. */
  | { action: 'retry'; target: 'next-target' | 'same-target'; delayMs: number }
  | { action: 'fallback'; model: string; kind: FallbackKind }
  | { action: 'give-up'; reason: GiveUpReason }

const giveUp = (reason: GiveUpReason): NextStep => ({ action: 'give-up', reason })

function toFallback(input: StepInput, kind: FallbackKind): NextStep | undefined {
  const model = input.fallbacks[kind][0]
  return model === undefined ? undefined : { action: 'fallback', model, kind }
}

/**
 * The retry rule, in order:
 * 1. nothing after bytes reached the client, past the deadline, or after a fatal error;
 * 2. context overflow and content refusals go straight to their own fallback list;
 * 3. a retryable failure goes to another target of the group while the budget lasts (backoff only:
 *    Retry-After is about the target that sent it);
 * 4. with every target tried, the same target again while the budget lasts, waiting at least its
 *    Retry-After: a fallback model changes the answer, so the group's own retries come first, unless
 *    the upstream asks for a longer wait than backoff.max and a fallback is at hand;
 * 5. then the general fallbacks; then give up.
 */
export function decideNextStep(input: StepInput): NextStep {
  const { classification: failure } = input
  if (input.streamCommitted) return giveUp('stream_committed')
  if (input.now >= input.deadline) return giveUp('deadline_passed')
  switch (failure.kind) {
    case 'fatal':
      return giveUp('fatal')
    case 'fallback-context':
      return toFallback(input, 'context_window') ?? giveUp('no_fallback')
    case 'fallback-content-policy':
      return toFallback(input, 'content_policy') ?? giveUp('no_fallback')
    case 'retry':
      break
  }
  const budgetLeft = input.attemptsInGroup < 1 + input.retries
  const retryIndex = Math.max(0, input.attemptsInGroup - 1)
  const waitInput = {
    retryIndex,
    backoff: input.backoff,
    rng: input.rng,
    now: input.now,
    deadline: input.deadline,
  }
  if (budgetLeft && input.untriedTargets > 0) {
    const plan = planRetryWait(waitInput)
    if (plan.wait) return { action: 'retry', target: 'next-target', delayMs: plan.delayMs }
  }
  const fallback = toFallback(input, 'general')
  const longWait = (failure.retryAfterMs ?? 0) > input.backoff.max
  if (budgetLeft && !(fallback && longWait)) {
    const plan = planRetryWait({ ...waitInput, retryAfterMs: failure.retryAfterMs })
    if (plan.wait) return { action: 'retry', target: 'same-target', delayMs: plan.delayMs }
    if (!fallback) return giveUp(plan.reason)
  }
  return fallback ?? giveUp('retries_exhausted')
}
