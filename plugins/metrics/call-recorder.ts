// Turns one answered request into metric updates. It runs in onResponse on every request, so each
// label combination's counter cells and histogram children are bound once and kept: a served call
// usually reuses its route's last series, and builds no label objects (well under a microsecond).
import type { CacheStatus, GatewayContext } from '../call-record.js'
import type { CounterCell } from './cell-counter.js'
import type { HistogramCell } from './cell-histogram.js'
import type { MetricSet } from './definitions.js'
import {
  type BoundedLabels,
  cacheResults,
  type ErrorFacts,
  refusalReasonOf,
  statusClassCount,
  statusClassIndex,
  statusClassOf,
  upstreamErrorOf,
} from './labels.js'

/** The part of a FastifyRequest the recorder reads (plain objects in unit tests). */
export interface ObservedRequest {
  gateway: GatewayContext | null
  body: unknown
}

/** The part of a FastifyReply the recorder reads. */
export interface ObservedReply {
  statusCode: number
  /** Milliseconds since the request arrived; in onResponse, the whole exchange. */
  elapsedTime: number
  getHeader(name: string): unknown
}

export type RecordResponse = (request: ObservedRequest, reply: ObservedReply) => void

/**
 * The children of one (route, model, provider), bound when the combination is first seen (a bound
 * child adds no series until it counts something). Indexed by stream (0/1) and status class.
 */
interface CallSeries {
  model: string
  provider: string
  requests: CounterCell[]
  duration: HistogramCell[]
  firstToken: HistogramCell[]
  tokensPerSecond: HistogramCell[]
  promptTokens: CounterCell
  completionTokens: CounterCell
  cost: CounterCell
}

const streamLabels = ['false', 'true'] as const
const statusClassLabels = Array.from({ length: statusClassCount }, (_, i) => statusClassOf((i + 1) * 100))

/** A request body's `model` and `stream`, read only for calls that failed before being served. */
interface RequestedCall {
  model?: unknown
  stream?: unknown
}

function headerText(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

export function memo<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

export class CallRecorder {
  readonly #metrics: MetricSet
  readonly #models: BoundedLabels
  readonly #cache: Record<CacheStatus, CounterCell>
  readonly #upstreamErrors = new Map<string, CounterCell>()
  readonly #refusals = new Map<string, CounterCell>()

  constructor(metrics: MetricSet, models: BoundedLabels) {
    this.#metrics = metrics
    this.#models = models
    this.#cache = {
      HIT: metrics.cacheRequests.bind(cacheResults.HIT),
      MISS: metrics.cacheRequests.bind(cacheResults.MISS),
      BYPASS: metrics.cacheRequests.bind(cacheResults.BYPASS),
    }
  }

  /**
   * The onResponse recorder of one route, bound to its pattern. Routes that are not inference calls
   * only count requests, with empty model and provider labels.
   */
  forRoute(route: string, inference: boolean): RecordResponse {
    const requests = this.#metrics.requests
    if (!inference) {
      const byClass = statusClassLabels.map((status) => requests.bind(route, '', '', 'false', status))
      return (_request, reply) => byClass[statusClassIndex(reply.statusCode)]!.inc()
    }
    const byModel = new Map<string, Map<string, CallSeries>>()
    // The series of the last served call: a route serves one model through one provider most of
    // the time, so the label admission and both map lookups are usually skipped. Its model label is
    // compared with the name served, so an `unknown` series (which a reload may make known) is never
    // reused for a name.
    let last: CallSeries | undefined
    return (request, reply) => {
      const gateway = request.gateway
      const elapsedMs = reply.elapsedTime
      let series: CallSeries
      let stream: number
      if (gateway) {
        stream = gateway.stream ? 1 : 0
        if (last !== undefined && last.model === gateway.model && last.provider === gateway.provider) {
          series = last
        } else {
          series = this.#seriesOf(byModel, route, this.#models.admit(gateway.model), gateway.provider)
          last = series
        }
      } else {
        // Not served: a model routing resolved is known by now (router-observer.ts admits it at the
        // decision); anything else (404s, garbage, a body that failed validation) is `unknown`.
        const body = request.body as RequestedCall | null | undefined
        const model = this.#models.known(body?.model)
        series = this.#seriesOf(byModel, route, model, headerText(reply.getHeader('x-anygate-provider')))
        stream = body?.stream === true ? 1 : 0
      }
      const slot = stream * statusClassCount + statusClassIndex(reply.statusCode)
      series.requests[slot]!.inc()
      series.duration[slot]!.observe(elapsedMs / 1000)
      if (gateway) this.#recordServed(series, gateway, stream, elapsedMs)
    }
  }

  /** onError: refusals by the gateway's own limits, and failures an upstream caused. */
  countError(error: ErrorFacts): void {
    const upstream = upstreamErrorOf(error)
    if (upstream) {
      this.#upstreamError(upstream.provider, upstream.type).inc()
      return
    }
    const reason = refusalReasonOf(error)
    if (reason) memo(this.#refusals, reason, () => this.#metrics.refusals.bind(reason)).inc()
  }

  #recordServed(series: CallSeries, gateway: GatewayContext, stream: number, elapsedMs: number): void {
    if (gateway.firstByteMs !== undefined) series.firstToken[stream]!.observe(gateway.firstByteMs / 1000)
    const usage = gateway.usage
    if (usage) {
      // prom-client throws on a negative increment; a count that is not positive adds nothing anyway.
      if (usage.prompt > 0) series.promptTokens.inc(usage.prompt)
      if (usage.completion > 0) {
        series.completionTokens.inc(usage.completion)
        const perSecond = tokensPerSecond(gateway, usage.completion, elapsedMs)
        if (perSecond !== undefined) series.tokensPerSecond[stream]!.observe(perSecond)
      }
    }
    if (gateway.costUsd !== undefined && gateway.costUsd > 0) series.cost.inc(gateway.costUsd)
    this.#cache[gateway.cache].inc()
    if (gateway.streamError !== undefined && gateway.streamError !== 'client_abort') {
      this.#upstreamError(series.provider, 'stream_error').inc()
    }
  }

  #seriesOf(
    byModel: Map<string, Map<string, CallSeries>>,
    route: string,
    model: string,
    provider: string,
  ): CallSeries {
    let byProvider = byModel.get(model)
    if (byProvider === undefined) {
      byProvider = new Map()
      byModel.set(model, byProvider)
    }
    let series = byProvider.get(provider)
    if (series === undefined) {
      series = this.#bindSeries(route, model, provider)
      byProvider.set(provider, series)
    }
    return series
  }

  #bindSeries(route: string, model: string, provider: string): CallSeries {
    const { requests, duration, firstToken, tokensPerSecond, tokens, cost } = this.#metrics
    const bySlot = <T>(bind: (stream: string, status: string) => T): T[] =>
      streamLabels.flatMap((stream) => statusClassLabels.map((status) => bind(stream, status)))
    return {
      model,
      provider,
      requests: bySlot((stream, status) => requests.bind(route, model, provider, stream, status)),
      duration: bySlot((stream, status) => duration.labels(model, provider, stream, status)),
      firstToken: streamLabels.map((stream) => firstToken.labels(model, provider, stream)),
      tokensPerSecond: streamLabels.map((stream) => tokensPerSecond.labels(model, provider, stream)),
      promptTokens: tokens.bind('prompt', model, provider),
      completionTokens: tokens.bind('completion', model, provider),
      cost: cost.bind(model, provider),
    }
  }

  #upstreamError(provider: string, type: string): CounterCell {
    return memo(this.#upstreamErrors, `${provider}\u0000${type}`, () =>
      this.#metrics.upstreamErrors.bind(provider, type),
    )
  }
}

/**
 * Generation speed, or undefined when the numbers can't say it: a stream over its first to last
 * chunk (the wait for the first token is TTFT's), a JSON answer over the whole call. A cache hit
 * generated nothing, and a stream that broke off has no meaningful end.
 */
export function tokensPerSecond(
  gateway: Pick<GatewayContext, 'stream' | 'cache' | 'firstByteMs' | 'lastByteMs' | 'streamError'>,
  completionTokens: number,
  elapsedMs: number,
): number | undefined {
  if (completionTokens <= 0 || gateway.cache === 'HIT') return undefined
  if (!gateway.stream) return elapsedMs > 0 ? completionTokens / (elapsedMs / 1000) : undefined
  if (gateway.streamError !== undefined) return undefined
  const { firstByteMs, lastByteMs } = gateway
  if (firstByteMs === undefined || lastByteMs === undefined) return undefined
  const windowMs = lastByteMs - firstByteMs
  return windowMs > 0 ? completionTokens / (windowMs / 1000) : undefined
}
