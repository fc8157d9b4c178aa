// What clients see of the limits: OpenAI's x-ratelimit-* headers, and the 429 refusals
// (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers). Refusals keep the
// gateway's error catalogue: type rate_limit_error (as the router's and the providers' 429s), a code
// per limit kind, a message naming the limit, who it applies to and when to retry.
import type { FastifyReply } from 'fastify'
import { GatewayError } from '../gateway-error.js'
import { msUntilFits, msUntilReset, remainingIn, slidingCount } from './sliding-window.js'
import type { TakeResult, WindowCharge } from './windows.js'

/** A limit's state for the headers: the tightest applicable one is reported. */
export interface LimitReading {
  limit: number
  remaining: number
  resetMs: number
}

export type LimitUnit = 'requests' | 'tokens'

/** Who a limit applies to, for messages: `on key "ci"`, `on model "fast"`, ... */
export type LimitScope =
  | { kind: 'key'; name: string }
  | { kind: 'model'; name: string }
  | { kind: 'global' }
  | { kind: 'ip' }

/** A duration as OpenAI writes it (Go's time.Duration format): "12ms", "1s", "1.5s", "6m0s". */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms))
  if (whole === 0) return '0s'
  if (whole < 1000) return `${whole}ms`
  const hours = Math.floor(whole / 3_600_000)
  const minutes = Math.floor((whole % 3_600_000) / 60_000)
  // Whole ms over 1000 prints with at most three decimals and no trailing zeros, as toFixed(3) would.
  const seconds = `${(whole % 60_000) / 1000}s`
  if (hours > 0) return `${hours}h${minutes}m${seconds}`
  if (minutes > 0) return `${minutes}m${seconds}`
  return seconds
}

const headerNames = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
} as const

/** The reading with the least remaining: the one the next request is likeliest to hit. */
export function tightest(readings: readonly (LimitReading | undefined)[]): LimitReading | undefined {
  let found: LimitReading | undefined
  for (const reading of readings) {
    if (reading && (!found || reading.remaining < found.remaining)) found = reading
  }
  return found
}

export function setLimitHeaders(reply: FastifyReply, unit: LimitUnit, reading: LimitReading): void {
  const [limit, remaining, reset] = headerNames[unit]
  reply.header(limit, String(reading.limit))
  reply.header(remaining, String(reading.remaining))
  reply.header(reset, formatDuration(reading.resetMs))
}

function describe(scope: LimitScope): string {
  switch (scope.kind) {
    case 'key':
      return `on key "${scope.name}"`
    case 'model':
      return `on model "${scope.name}"`
    case 'global':
      return 'on this gateway (limits.global_rpm)'
    case 'ip':
      return 'for your IP address (limits.per_ip_rpm)'
  }
}

const unitWords: Record<LimitUnit, string> = {
  requests: 'requests per minute (RPM)',
  tokens: 'tokens per minute (TPM)',
}

const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

export interface Refusal {
  unit: LimitUnit
  scope: LimitScope
  limit: number
  used: number
  requested: number
  retryAfterMs: number
  resetMs: number
}

export function limitExceeded(refusal: Refusal): GatewayError {
  const { unit, limit, used, requested } = refusal
  const seconds = retryAfterSeconds(refusal.retryAfterMs)
  return new GatewayError(
    429,
    `Rate limit reached ${describe(refusal.scope)} for ${unitWords[unit]}: limit ${limit}, used ${used}, ` +
      `requested ${requested}. Try again in ${seconds}s (the limit is fully reset in ${formatDuration(refusal.resetMs)}).`,
    'rate_limit_error',
    unit === 'requests' ? 'rate_limit_exceeded' : 'tokens_exceeded',
    null,
    { 'retry-after': String(seconds) },
  )
}

/** A request larger than the whole limit: waiting never helps, so no Retry-After. */
export function requestTooLarge(scope: LimitScope, limit: number, requested: number): GatewayError {
  return new GatewayError(
    429,
    `Request too large ${describe(scope)} for ${unitWords.tokens}: limit ${limit}, requested ${requested} ` +
      '(the estimated prompt plus max_tokens/max_completion_tokens). Shorten the prompt or lower the output bound.',
    'rate_limit_error',
    'tokens_exceeded',
  )
}

export function tooManyInFlight(keyName: string, limit: number): GatewayError {
  return new GatewayError(
    429,
    `Too many concurrent requests on key "${keyName}": max_parallel is ${limit} and ${limit} are in flight. ` +
      'Retry when one of them has finished.',
    'rate_limit_error',
    'max_parallel_exceeded',
    null,
    { 'retry-after': '1' },
  )
}

export function tooManyStreams(caller: string, limit: number): GatewayError {
  return new GatewayError(
    429,
    `Too many open streams for ${caller}: limits.max_streams_per_key is ${limit} and ${limit} are open. ` +
      'Retry when one of them has finished, or send the request without stream: true.',
    'rate_limit_error',
    'max_streams_exceeded',
    null,
    { 'retry-after': '1' },
  )
}

export function tooManyMessages(count: number, limit: number): GatewayError {
  return new GatewayError(
    400,
    `This request has ${count} messages; this gateway accepts at most ${limit} (limits.max_messages). Shorten the conversation.`,
    'invalid_request_error',
    'too_many_messages',
    'messages',
  )
}

/** store.on_error: deny and the store cannot be asked. */
export function limitsUnavailable(): GatewayError {
  return new GatewayError(
    503,
    'Rate limits cannot be checked: the state store (Redis) is unreachable and store.on_error is deny. Retry shortly.',
    'service_unavailable',
    'limits_unavailable',
    null,
    { 'retry-after': '1' },
  )
}

/** Reads and refusals of one take, for the headers and the 429. */
export function readTake(
  taken: TakeResult,
  charges: readonly WindowCharge[],
  scopes: readonly LimitScope[],
  unit: Refusal['unit'],
): { readings: LimitReading[]; refusal: Refusal | undefined } {
  const into = taken.msIntoMinute
  const readings = charges.map((charge, i) => ({
    limit: charge.limit,
    remaining: remainingIn(taken.counts[i]!, charge.limit, into),
    resetMs: msUntilReset(taken.counts[i]!, into),
  }))
  if (taken.admitted) return { readings, refusal: undefined }
  const charge = charges[taken.refused]!
  const counts = taken.counts[taken.refused]!
  return {
    readings,
    refusal: {
      unit,
      scope: scopes[taken.refused]!,
      limit: charge.limit,
      used: Math.ceil(slidingCount(counts, into)),
      requested: charge.amount,
      retryAfterMs: msUntilFits(counts, charge.limit, charge.amount, into),
      resetMs: msUntilReset(counts, into),
    },
  }
}
