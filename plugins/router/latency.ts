// Time to first byte per target as an exponentially weighted moving average: O(1) memory and time
// per sample, and recent samples count most, so a target that slows down loses traffic within a few
// requests. Only successes are recorded: a fast failure must not make a broken target look quick.
import type { Clock } from './types.js'

export interface LatencyTrackerOptions {
  /** Weight of the newest sample, in (0, 1]. 0.3: a change shows after ~3 samples, one outlier fades. */
  alpha?: number
  /** An average older than this is "stale" and lowest-latency re-measures it by exploration. */
  staleAfterMs?: number
  now?: Clock
}

export interface LatencyReading {
  ewmaMs: number
  samples: number
  updatedAt: number
}

export class LatencyTracker {
  readonly #readings = new Map<string, LatencyReading>()
  readonly #alpha: number
  readonly #staleAfterMs: number
  readonly #now: Clock

  constructor(options: LatencyTrackerOptions = {}) {
    const alpha = options.alpha ?? 0.3
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`latency alpha must be in (0, 1], got ${alpha}`)
    this.#alpha = alpha
    this.#staleAfterMs = options.staleAfterMs ?? 300_000
    this.#now = options.now ?? Date.now
  }

  record(targetId: string, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return
    const previous = this.#readings.get(targetId)
    // The first sample seeds the average; starting from 0 would make a new target look fastest.
    const ewmaMs = previous ? this.#alpha * latencyMs + (1 - this.#alpha) * previous.ewmaMs : latencyMs
    this.#readings.set(targetId, {
      ewmaMs,
      samples: (previous?.samples ?? 0) + 1,
      updatedAt: this.#now(),
    })
  }

  get(targetId: string): LatencyReading | undefined {
    return this.#readings.get(targetId)
  }

  /** True when the target was never measured or not for staleAfterMs. */
  isStale(targetId: string): boolean {
    const reading = this.#readings.get(targetId)
    return !reading || this.#now() - reading.updatedAt > this.#staleAfterMs
  }

  forget(targetId: string): void {
    this.#readings.delete(targetId)
  }
}
