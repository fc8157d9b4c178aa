// Live per-target numbers: in-flight calls (least-busy, max_concurrency), latency (lowest-latency)
// and the last error (GET /health/providers). Per process on purpose: in-flight and latency describe
// this replica's own connections; only breaker state is worth sharing between replicas.
import { LatencyTracker } from './latency.js'
import type { Clock, TargetErrorSummary, TargetStats } from './types.js'

const maxMessageLength = 200

// Adapters scrub their configured keys from messages already; these catch what they cannot know
// about, such as a Gemini `?key=` in a URL that undici echoes back in a connect error.
const secretPatterns: readonly [RegExp, string][] = [
  [/([?&](?:key|api[-_]?key|access_token|token)=)[^&\s"']+/gi, '$1[redacted]'],
  [/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]'],
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, '[redacted]'],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, '[redacted]'],
]

export function redactSecrets(text: string): string {
  let out = text
  for (const [pattern, replacement] of secretPatterns) out = out.replace(pattern, replacement)
  return out
}

export function summarizeError(error: unknown, at: number): TargetErrorSummary {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    statusCode?: unknown
    code?: unknown
    message?: unknown
  }
  const raw = typeof fields.message === 'string' ? fields.message : String(error)
  const redacted = redactSecrets(raw)
  return {
    at,
    status: typeof fields.statusCode === 'number' ? fields.statusCode : null,
    code: typeof fields.code === 'string' ? fields.code : null,
    message: redacted.length > maxMessageLength ? `${redacted.slice(0, maxMessageLength)}…` : redacted,
  }
}

export interface TargetStatsOptions {
  latency?: LatencyTracker
  now?: Clock
}

export class TargetStatsRegistry {
  readonly latency: LatencyTracker
  readonly #inFlight = new Map<string, number>()
  readonly #lastError = new Map<string, TargetErrorSummary>()
  readonly #now: Clock

  constructor(options: TargetStatsOptions = {}) {
    this.#now = options.now ?? Date.now
    this.latency = options.latency ?? new LatencyTracker({ now: this.#now })
  }

  /**
   * Counts a call as in flight and returns its release. Release is idempotent, so calling it from
   * both a `finally` and an abort listener cannot drive the count below the truth.
   */
  begin(targetId: string): () => void {
    this.#inFlight.set(targetId, (this.#inFlight.get(targetId) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.#inFlight.get(targetId) ?? 1) - 1
      if (left > 0) this.#inFlight.set(targetId, left)
      else this.#inFlight.delete(targetId)
    }
  }

  inFlight(targetId: string): number {
    return this.#inFlight.get(targetId) ?? 0
  }

  recordFirstByte(targetId: string, latencyMs: number): void {
    this.latency.record(targetId, latencyMs)
  }

  recordError(targetId: string, error: unknown): void {
    this.#lastError.set(targetId, summarizeError(error, this.#now()))
  }

  snapshot(targetId: string): TargetStats {
    const reading = this.latency.get(targetId)
    return {
      inFlight: this.inFlight(targetId),
      latencyEwmaMs: reading?.ewmaMs ?? null,
      latencySamples: reading?.samples ?? 0,
      latencyUpdatedAt: reading?.updatedAt ?? null,
      lastError: this.#lastError.get(targetId) ?? null,
    }
  }
}
