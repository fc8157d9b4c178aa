// The spans of one request: the server span, a `route <model>` span per routing decision and a
// `chat <upstream model>` span per upstream attempt, all children of the server span. The router's
// events (plugins/router/events.ts) drive the children; they name the request by its id, so open
// traces are kept by id in RequestTraces.
import { performance } from 'node:perf_hooks'
import {
  type Attributes,
  type Context,
  context,
  type HrTime,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { millisToHrTime } from '@opentelemetry/core'
import { ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions'
import type { GatewayContext } from '../call-record.js'
import type {
  AttemptEndEvent,
  AttemptStartEvent,
  FallbackEvent,
  RouterObserver,
  RoutingDecisionEvent,
  SkipEvent,
} from '../router/events.js'
import {
  ATTR_ERROR_TYPE,
  GEN_AI_OPERATION_NAME,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_MODEL,
  GEN_AI_SYSTEM,
  responseModelOf,
  usageAttributes,
} from './attributes.js'

/** Now, for the spans of one request. */
export type SpanClock = () => HrTime

/**
 * One wall-clock reading, advanced by the monotonic clock: the SDK anchors each span on its own
 * Date.now() (whole milliseconds), so a child could seem to end after its parent. The spans of a
 * request all read this one instead.
 */
export function anchoredClock(): SpanClock {
  const wallMs = Date.now()
  const startedAt = performance.now()
  return () => millisToHrTime(wallMs + (performance.now() - startedAt))
}

/** What an attempt span says about its provider: gen_ai.provider.name and server.address/port. */
export interface UpstreamInfo {
  genAiName: string
  address: Attributes
}

export interface RequestTraceOptions {
  tracer: Tracer
  clock: SpanClock
  server: Span
  /** The incoming context with the server span set: the parent of every child span. */
  parent: Context
  operation: 'chat' | 'embeddings' | undefined
  upstreamOf: (provider: string) => UpstreamInfo
  /** Make the attempt span current around the upstream call, so it carries a traceparent. */
  propagate: boolean
}

/** How the request ended, read once in onResponse (or when the client hung up). */
export interface RequestOutcome {
  statusCode: number
  gateway: GatewayContext | null
  /** The model the client asked for, as sent. */
  requestedModel: string | undefined
  /** The client closed the connection before the response finished. */
  aborted: boolean
}

function endAttemptFailed(span: Span, event: AttemptEndEvent): void {
  const reason = event.reason ?? '_OTHER'
  span.setAttribute(ATTR_ERROR_TYPE, reason)
  if (event.status !== null) span.setAttribute('anygate.attempt.status_code', event.status)
  if (event.next !== null) span.setAttribute('anygate.attempt.next', event.next)
  // The reason, not the upstream's message: that may quote the prompt.
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason })
}

export class RequestTrace {
  readonly #options: RequestTraceOptions
  /** Attempts whose span is open and not yet known to have served. */
  readonly #attempts = new Map<number, Span>()
  /** The attempt that served: ended with the request, once its usage is known. */
  #served: Span | undefined
  #responseModel: string | undefined
  #errorCode: string | undefined

  constructor(options: RequestTraceOptions) {
    this.#options = options
  }

  decision(event: RoutingDecisionEvent): void {
    const { tracer, clock, parent } = this.#options
    const at = clock()
    const span = tracer.startSpan(
      `route ${event.model}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: at,
        attributes: {
          'anygate.model': event.model,
          'anygate.routing.strategy': event.strategy,
          'anygate.routing.order': event.order.map((target) => target.id),
          'anygate.routing.skipped': event.skipped.map((s) => `${s.target.id}: ${s.reason}`),
        },
      },
      parent,
    )
    span.end(at)
  }

  attemptStart(event: AttemptStartEvent): void {
    const { tracer, clock, upstreamOf, operation = 'chat', parent } = this.#options
    const { target } = event
    const upstream = upstreamOf(target.provider)
    const span = tracer.startSpan(
      `${operation} ${target.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: clock(),
        attributes: {
          [GEN_AI_OPERATION_NAME]: operation,
          [GEN_AI_PROVIDER_NAME]: upstream.genAiName,
          [GEN_AI_SYSTEM]: upstream.genAiName,
          // The model this call asks the upstream for; the public name the router resolved is
          // anygate.model (and gen_ai.request.model of the server span).
          [GEN_AI_REQUEST_MODEL]: target.model,
          ...upstream.address,
          'anygate.model': event.model,
          'anygate.provider': target.provider,
          'anygate.target': target.id,
          'anygate.attempt': event.attempt,
        },
      },
      parent,
    )
    this.#attempts.get(event.attempt)?.end(clock())
    this.#attempts.set(event.attempt, span)
  }

  attemptEnd(event: AttemptEndEvent): void {
    const span = this.#attempts.get(event.attempt)
    if (!span) return
    this.#attempts.delete(event.attempt)
    span.setAttribute('anygate.attempt.outcome', event.outcome)
    if (event.outcome === 'success') {
      // A stream is still flowing: its span ends with the request, when usage is known.
      this.#served = span
      return
    }
    if (event.outcome === 'failure') endAttemptFailed(span, event)
    span.end(this.#options.clock())
  }

  skip(event: SkipEvent): void {
    const { server, clock } = this.#options
    server.addEvent(
      'anygate.target_skipped',
      { 'anygate.model': event.model, 'anygate.target': event.target, 'anygate.skip_reason': event.reason },
      clock(),
    )
  }

  fallback(event: FallbackEvent): void {
    const { server, clock } = this.#options
    server.addEvent(
      'anygate.fallback',
      {
        'anygate.fallback.from': event.from,
        'anygate.fallback.to': event.to,
        'anygate.fallback.kind': event.kind,
      },
      clock(),
    )
  }

  /** Runs an attempt's upstream call with its span current, and notes the model a JSON answer names. */
  inAttempt<T>(attempt: number, run: () => Promise<T>): Promise<T> {
    const span = this.#attempts.get(attempt)
    const called =
      span && this.#options.propagate ? context.with(trace.setSpan(this.#options.parent, span), run) : run()
    return called.then((value) => {
      this.responseModel(value)
      return value
    })
  }

  /** Notes the model an answer or stream chunk names; the first one named wins. */
  responseModel(value: unknown): void {
    if (this.#responseModel === undefined) this.#responseModel = responseModelOf(value)
  }

  /** The error the request failed with, by its stable code (never its message). */
  failedWith(code: string): void {
    this.#errorCode = code
  }

  /** What the answer says of itself: usage and model, for the attempt that served and the server span. */
  #answerAttributes(gateway: GatewayContext | null): Attributes {
    const attributes: Attributes = gateway?.usage ? usageAttributes(gateway.usage) : {}
    if (this.#responseModel !== undefined) attributes[GEN_AI_RESPONSE_MODEL] = this.#responseModel
    return attributes
  }

  #endServed(gateway: GatewayContext | null, at: HrTime): void {
    const served = this.#served
    if (!served) return
    this.#served = undefined
    served.setAttributes(this.#answerAttributes(gateway))
    const streamError = gateway?.streamError
    if (streamError !== undefined && streamError !== 'client_abort') {
      served.setAttribute(ATTR_ERROR_TYPE, streamError)
      served.setStatus({ code: SpanStatusCode.ERROR, message: streamError })
    }
    served.end(at)
  }

  /**
   * A JSON answer is complete when the handler returns it (onSend): its attempt ends there, not once
   * the client has read it. A stream's attempt ends with the stream.
   */
  answered(gateway: GatewayContext | null): void {
    if (gateway && !gateway.stream) this.#endServed(gateway, this.#options.clock())
  }

  end(outcome: RequestOutcome): void {
    const { server, operation, clock } = this.#options
    const at = clock()
    for (const span of this.#attempts.values()) span.end(at)
    this.#attempts.clear()
    const { gateway } = outcome
    this.#endServed(gateway, at)
    const streamError = gateway?.streamError
    const failedStream = streamError !== undefined && streamError !== 'client_abort'

    const attributes: Attributes = { [ATTR_HTTP_RESPONSE_STATUS_CODE]: outcome.statusCode }
    if (operation !== undefined) {
      attributes[GEN_AI_OPERATION_NAME] = operation
      if (outcome.requestedModel !== undefined) attributes[GEN_AI_REQUEST_MODEL] = outcome.requestedModel
    }
    if (gateway) {
      Object.assign(attributes, this.#answerAttributes(gateway), {
        'anygate.model': gateway.model,
        'anygate.provider': gateway.provider,
        'anygate.attempts': gateway.attempts,
        'anygate.cache': gateway.cache,
      })
      if (gateway.cache !== 'HIT') {
        const genAiName = this.#options.upstreamOf(gateway.provider).genAiName
        attributes[GEN_AI_PROVIDER_NAME] = genAiName
        attributes[GEN_AI_SYSTEM] = genAiName
      }
      if (gateway.fallbackFrom !== undefined) attributes['anygate.fallback_from'] = gateway.fallbackFrom
      if (streamError !== undefined) attributes['anygate.stream_error'] = streamError
    }
    if (this.#errorCode !== undefined) attributes['anygate.error.code'] = this.#errorCode
    if (outcome.aborted) attributes['anygate.client_aborted'] = true
    // HTTP server conventions: a 4xx is the client's error, not the span's.
    if (outcome.statusCode >= 500 || failedStream) {
      const errorType = failedStream ? streamError : (this.#errorCode ?? String(outcome.statusCode))
      attributes[ATTR_ERROR_TYPE] = errorType
      server.setStatus({ code: SpanStatusCode.ERROR, message: errorType })
    }
    server.setAttributes(attributes)
    server.end(at)
  }
}

/**
 * Open traces by request id, for the router's events. Two requests in flight with the same id (a
 * client reusing its x-request-id) can't be told apart: their events are dropped rather than put
 * under the wrong server span, until both ended.
 */
export class RequestTraces {
  readonly #byId = new Map<string, { trace: RequestTrace | undefined; inFlight: number }>()

  add(id: string, requestTrace: RequestTrace): void {
    const slot = this.#byId.get(id)
    if (slot) {
      slot.inFlight++
      slot.trace = undefined
    } else this.#byId.set(id, { trace: requestTrace, inFlight: 1 })
  }

  remove(id: string): void {
    const slot = this.#byId.get(id)
    if (slot && --slot.inFlight === 0) this.#byId.delete(id)
  }

  get(id: string): RequestTrace | undefined {
    return this.#byId.get(id)?.trace
  }

  get size(): number {
    return this.#byId.size
  }

  observer(): RouterObserver {
    return {
      decision: (event) => this.get(event.requestId)?.decision(event),
      attemptStart: (event) => this.get(event.requestId)?.attemptStart(event),
      attemptEnd: (event) => this.get(event.requestId)?.attemptEnd(event),
      skip: (event) => this.get(event.requestId)?.skip(event),
      fallback: (event) => this.get(event.requestId)?.fallback(event),
      attemptScope: (requestId, attempt, run) => {
        const requestTrace = this.get(requestId)
        return requestTrace ? requestTrace.inAttempt(attempt, run) : run()
      },
    }
  }
}
