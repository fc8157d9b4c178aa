// Every anygate_* metric, created in one place on the registry of one app (never prom-client's
// global registry: tests build many apps in one process). Counters and histograms count in bound
// cells (cell-counter.ts, cell-histogram.ts); the gauges that describe live state (circuit state, in-flight calls, cache
// size) are read from their sources at scrape time.
import { Gauge, type Registry } from 'prom-client'
import { CellCounter } from './cell-counter.js'
import { CellHistogram } from './cell-histogram.js'

/** 0 closed, 1 half_open, 2 open: higher is worse, so `max by (target)` reads right in a graph. */
export const circuitStateValues = { closed: 0, half_open: 1, open: 2 } as const
export type CircuitStateName = keyof typeof circuitStateValues

/** Where the scrape-time gauges read from; filled in once the router and the cache exist. */
export interface LiveSources {
  targets?: {
    ids(): readonly string[]
    circuitState(id: string): Promise<CircuitStateName>
    inFlight(id: string): number
  }
  /** null: the size is not known here (a Redis cache). */
  cacheBytes?: () => number | null | Promise<number | null>
}

// Seconds. From a cache hit (well under 1 ms) to a long generation.
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const firstTokenBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60]
// Tokens per second: from a large model under load to a small fast one.
const tokensPerSecondBuckets = [1, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2500]

const callLabels = ['model', 'provider', 'stream'] as const

export function createMetricSet(registry: Registry, sources: LiveSources) {
  const registers = [registry]
  return {
    requests: new CellCounter({
      name: 'anygate_requests_total',
      help: 'Requests answered, by route pattern, model, provider, status class and stream.',
      labelNames: ['route', 'model', 'provider', 'stream', 'status_class'] as const,
      registers,
    }),
    duration: new CellHistogram({
      name: 'anygate_request_duration_seconds',
      help: 'Inference request duration, from the request to the last byte of the answer (stream included).',
      labelNames: [...callLabels, 'status_class'] as const,
      buckets: durationBuckets,
      registers,
    }),
    firstToken: new CellHistogram({
      name: 'anygate_time_to_first_token_seconds',
      help: 'Time to the first chunk of a stream, or to the whole answer of a JSON call.',
      labelNames: callLabels,
      buckets: firstTokenBuckets,
      registers,
    }),
    tokensPerSecond: new CellHistogram({
      name: 'anygate_output_tokens_per_second',
      help: 'Completion tokens per second: over first to last chunk for streams, over the duration for JSON.',
      labelNames: callLabels,
      buckets: tokensPerSecondBuckets,
      registers,
    }),
    tokens: new CellCounter({
      name: 'anygate_tokens_total',
      help: 'Tokens the upstreams reported (or the cache replayed), by type prompt or completion.',
      labelNames: ['type', 'model', 'provider'] as const,
      registers,
    }),
    cost: new CellCounter({
      name: 'anygate_cost_usd_total',
      help: 'Cost of the calls in USD, as priced by the spend plugin; cache hits cost 0.',
      labelNames: ['model', 'provider'] as const,
      registers,
    }),
    cacheRequests: new CellCounter({
      name: 'anygate_cache_requests_total',
      help: 'Answered inference calls by response cache result: hit, miss or bypass.',
      labelNames: ['result'] as const,
      registers,
    }),
    cacheBytes: new Gauge({
      name: 'anygate_cache_bytes',
      help: 'Bytes the in-memory response cache holds (0 when it is off or kept in Redis).',
      registers,
      async collect() {
        const bytes = sources.cacheBytes ? await sources.cacheBytes() : 0
        this.set(bytes ?? 0)
      },
    }),
    attempts: new CellCounter({
      name: 'anygate_upstream_attempts_total',
      help: 'Upstream calls by target and outcome (success, failure, client_abort) with the failure reason.',
      labelNames: ['provider', 'target', 'outcome', 'reason'] as const,
      registers,
    }),
    retries: new CellCounter({
      name: 'anygate_retries_total',
      help: 'Failed attempts the router retried, by the target that failed.',
      labelNames: ['target'] as const,
      registers,
    }),
    fallbacks: new CellCounter({
      name: 'anygate_fallbacks_total',
      help: 'Moves to a fallback model, by kind: general, context_window, content_policy.',
      labelNames: ['from', 'to', 'kind'] as const,
      registers,
    }),
    decisions: new CellCounter({
      name: 'anygate_routing_decisions_total',
      help: 'Routing decisions, by model and strategy (one per model tried, fallbacks included).',
      labelNames: ['model', 'strategy'] as const,
      registers,
    }),
    skips: new CellCounter({
      name: 'anygate_routing_skips_total',
      help: 'Targets passed over by the router, by reason (circuit_open, max_rpm, max_concurrency, ...).',
      labelNames: ['model', 'target', 'reason'] as const,
      registers,
    }),
    circuitState: new Gauge({
      name: 'anygate_circuit_state',
      help: 'Circuit breaker state per configured target: 0 closed, 1 half_open, 2 open.',
      labelNames: ['target'] as const,
      registers,
      async collect() {
        const targets = sources.targets
        if (!targets) return
        const ids = targets.ids()
        const states = await Promise.all(ids.map((id) => targets.circuitState(id)))
        this.reset()
        for (const [i, id] of ids.entries()) this.labels(id).set(circuitStateValues[states[i]!])
      },
    }),
    circuitTransitions: new CellCounter({
      name: 'anygate_circuit_transitions_total',
      help: 'Circuit breaker transitions this process made, by target and new state.',
      labelNames: ['target', 'to'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'anygate_inflight_requests',
      help: 'Upstream calls in flight per configured target (streams until their last chunk), this process.',
      labelNames: ['target'] as const,
      registers,
      collect() {
        const targets = sources.targets
        if (!targets) return
        this.reset()
        for (const id of targets.ids()) this.labels(id).set(targets.inFlight(id))
      },
    }),
    refusals: new CellCounter({
      name: 'anygate_limit_refusals_total',
      help:
        'Calls the gateway refused by its own rules: rate_limit, tokens, budget, parallel, model_access, ' +
        'target_rpm, store_unavailable (store.on_error: deny).',
      labelNames: ['reason'] as const,
      registers,
    }),
    upstreamErrors: new CellCounter({
      name: 'anygate_upstream_errors_total',
      help: 'Failed calls an upstream caused, by provider and error type (stream_error: failed mid-stream).',
      labelNames: ['provider', 'type'] as const,
      registers,
    }),
    storeFallbacks: new CellCounter({
      name: 'anygate_store_fallbacks_total',
      help: 'State store calls answered by store.on_error because Redis failed or was paused, by store.',
      labelNames: ['store', 'on_error'] as const,
      registers,
    }),
  }
}

export type MetricSet = ReturnType<typeof createMetricSet>
