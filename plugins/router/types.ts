// What the router works on: the targets of one public model, and what it knows about each live.
import type { TargetPrice } from './config-schema.js'

export type { TargetPrice } from './config-schema.js'

/** One (provider, upstream model) pair a public model can be served by. */
export interface RouteTarget {
  /** `${provider}/${model}`: unique inside a group, the key for stats and breakers. */
  id: string
  provider: string
  model: string
  /** Share of traffic for `weighted`; 0 keeps a target as a standby that is only tried last. */
  weight: number
  /** For `priority`: lower goes first; a target without one comes after every numbered one. */
  priority?: number
  max_concurrency?: number
  /** Calls started per minute at most, shared by replicas on a Redis store. */
  max_rpm?: number
  /** Per-attempt deadline; the request's overall deadline still caps it. */
  timeout_ms?: number
  /** Request kinds this target is preferred for; today only 'text'. */
  prefer_for?: string[]
  price?: TargetPrice
}

export function targetId(provider: string, model: string): string {
  return `${provider}/${model}`
}

/** Milliseconds since the epoch; injected so breakers and staleness can be tested without timers. */
export type Clock = () => number

/** The last failure of a target as shown by GET /health/providers: no message text from clients. */
export interface TargetErrorSummary {
  at: number
  status: number | null
  code: string | null
  /** Truncated and with anything shaped like a key removed. */
  message: string
}

/** A target's live numbers, for the strategies and GET /health/providers. */
export interface TargetStats {
  inFlight: number
  /** EWMA of time to first byte, or null before the first success. */
  latencyEwmaMs: number | null
  latencySamples: number
  /** When the latest latency sample was taken, or null. */
  latencyUpdatedAt: number | null
  lastError: TargetErrorSummary | null
}
