// Label values, kept to a bounded set: Prometheus keeps one series per distinct label combination,
// so a label fed from client input (model names, error codes) could grow memory without limit.
// Only names the config declares, or that routing resolved, become labels, up to a cap.
import type { CacheStatus } from '../call-record.js'

/** The label for a model or target name that is unknown, or beyond the cap. */
export const unknownLabel = 'unknown'

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
export type StatusClass = (typeof statusClasses)[number]

/** 0..4 for 1xx..5xx; anything out of range (a 499 is still 4xx) is clamped. */
export function statusClassIndex(status: number): number {
  return Math.max(0, Math.min(4, Math.floor(status / 100) - 1))
}

export const statusClassCount = statusClasses.length

export function statusClassOf(status: number): StatusClass {
  return statusClasses[statusClassIndex(status)]!
}

/**
 * A set of label values that starts with the configured names and admits new ones up to a cap;
 * past it every new value reads as `unknown`, so a client cycling through names cannot add series.
 */
export class BoundedLabels {
  readonly #known: Set<string>
  #room: number

  constructor(preset: Iterable<string>, maxAdmitted: number) {
    this.#known = new Set(preset)
    this.#room = maxAdmitted
  }

  /** Names a reloaded config declares: known from now on, without taking admitted room. */
  include(names: Iterable<string>): void {
    for (const name of names) this.#known.add(name)
  }

  /** The value itself when known or when there is room to admit it; `unknown` otherwise. */
  admit(value: string): string {
    if (this.#known.has(value)) return value
    if (this.#room <= 0) return unknownLabel
    this.#room--
    this.#known.add(value)
    return value
  }

  /** The value when it is known already; `unknown` otherwise (never admits). */
  known(value: unknown): string {
    return typeof value === 'string' && this.#known.has(value) ? value : unknownLabel
  }
}

export const cacheResults: Record<CacheStatus, 'hit' | 'miss' | 'bypass'> = {
  HIT: 'hit',
  MISS: 'miss',
  BYPASS: 'bypass',
}

/** What the metrics read from a thrown error; GatewayError and Fastify's errors both fit. */
export interface ErrorFacts {
  statusCode?: number
  code?: string | null
  type?: string
  headers?: Record<string, string>
}

// The limit plugins' refusal codes (OpenAI's names where OpenAI has one), and the router's own.
const refusalCodes: Readonly<Record<string, string>> = {
  rate_limit_exceeded: 'rate_limit',
  requests_exceeded: 'rate_limit',
  tokens_exceeded: 'tokens',
  budget_exceeded: 'budget',
  parallel_limit_exceeded: 'parallel',
  max_parallel_exceeded: 'parallel',
  concurrency_limit_exceeded: 'parallel',
  model_not_allowed: 'model_access',
  target_rate_limited: 'target_rpm',
  // store.on_error: deny, and the store (keys, limits, budgets) could not be asked.
  limits_unavailable: 'store_unavailable',
  store_unavailable: 'store_unavailable',
}

// For codes not in the table: the word says which limit it was, still one of a fixed set.
const refusalWords: readonly [RegExp, string][] = [
  [/budget|spend/, 'budget'],
  [/token|tpm/, 'tokens'],
  [/parallel|concurren/, 'parallel'],
  [/rate|rpm|request/, 'rate_limit'],
]

/**
 * Why the gateway refused a call by its own rules (rate, tokens, budget, parallel, model access),
 * or null when the error is something else. A 429 that an upstream sent carries the provider that
 * answered (router.ts adds x-anygate-provider to errors after an attempt): that is an upstream error.
 */
export function refusalReasonOf(error: ErrorFacts): string | null {
  if (error.headers?.['x-anygate-provider'] !== undefined) return null
  const code = typeof error.code === 'string' ? error.code : ''
  const known = refusalCodes[code]
  if (known) return known
  const status = error.statusCode
  if (status !== 429 && status !== 402) return null
  for (const [pattern, reason] of refusalWords) if (pattern.test(code)) return reason
  return 'other'
}

// The error types an answer can carry (plugins/gateway-error.ts), plus OpenAI's names that adapters
// pass through; an upstream's own free-form type reads as `other`.
const errorTypes: ReadonlySet<string> = new Set([
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'rate_limit_error',
  'server_error',
  'upstream_error',
  'timeout_error',
  'service_unavailable',
  'insufficient_quota',
  'content_filter',
  'overloaded_error',
  'api_error',
])

/** The provider and error type of a failure an upstream answered, or null for the gateway's own. */
export function upstreamErrorOf(error: ErrorFacts): { provider: string; type: string } | null {
  const provider = error.headers?.['x-anygate-provider']
  if (provider === undefined) return null
  const type = typeof error.type === 'string' && errorTypes.has(error.type) ? error.type : 'other'
  return { provider, type }
}
