// OpenTelemetry tracing, exported over OTLP/HTTP: a server span per request (the incoming
// traceparent as its parent), with a child span per routing decision and per upstream attempt
// (plugins/tracing/request-trace.ts), and the attempt's traceparent sent upstream. Registered first
// in app.ts, and only when telemetry.otlp_endpoint is set: otherwise none of this is loaded.
//
// The server span is written here rather than by @fastify/otel, which ends its span in onSend: for
// a stream that is before the first byte leaves, so the span would not cover the stream and could
// not carry its token usage, known only after the last byte (onResponse). @fastify/otel also reads
// the incoming traceparent through the global propagator, which this plugin leaves unregistered so
// that apps in one process stay independent.
import { type Context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import { addStreamTap } from '../call-record.js'
import { GatewayError } from '../gateway-error.js'
import {
  genAiOperation,
  genAiProviderName,
  serverSpanAttributes,
  serverSpanName,
  upstreamAddress,
} from './attributes.js'
import type { TelemetrySettings } from './config-schema.js'
import { ensureContextManager, incomingContext, injectTraceHeaders } from './propagation.js'
import { createTracing, throttledFailureLog } from './provider.js'
import {
  anchoredClock,
  RequestTrace,
  RequestTraces,
  type SpanClock,
  type UpstreamInfo,
} from './request-trace.js'
import { useTraceHeaders } from './upstream-headers.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's spans; null when tracing is off or the route is not traced. */
    requestTrace: RequestTrace | null
  }
}

export interface TracingPluginOptions {
  settings: TelemetrySettings & { otlp_endpoint: string }
  config: Pick<LoadedConfig, 'providers' | 'metrics'>
}

/** Probes and scrapes would bury the traffic worth tracing. */
function untracedRoutes(metricsPath: string): (route: string) => boolean {
  return (route) => route.startsWith('/health/') || route === metricsPath
}

/** A stable, low-cardinality name for what failed: never the message, which may quote the request. */
function errorCodeOf(error: Error): string {
  if (error instanceof GatewayError) return error.code ?? error.type
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : error.name
}

function requestedModel(request: FastifyRequest): string | undefined {
  const model = (request.body as { model?: unknown } | null | undefined)?.model
  return typeof model === 'string' ? model : undefined
}

function startServerSpan(
  tracer: Tracer,
  clock: SpanClock,
  request: FastifyRequest,
): { server: Span; parent: Context } {
  const incoming = incomingContext(request.headers)
  const route = request.routeOptions.url
  const userAgent = request.headers['user-agent']
  const server = tracer.startSpan(
    serverSpanName(request.method, route),
    {
      kind: SpanKind.SERVER,
      startTime: clock(),
      attributes: serverSpanAttributes({
        method: request.method,
        url: request.url,
        protocol: request.protocol,
        hostname: request.hostname,
        port: request.port,
        route,
        httpVersion: request.raw.httpVersion,
        userAgent,
      }),
    },
    incoming,
  )
  return { server, parent: trace.setSpan(incoming, server) }
}

export default fp(
  async (app: FastifyInstance, opts: TracingPluginOptions) => {
    const { settings, config } = opts
    ensureContextManager()
    const tracing = createTracing(
      settings,
      throttledFailureLog((error) =>
        app.log.warn({ collector: settings.otlp_endpoint, reason: error?.message }, 'trace export failed'),
      ),
    )
    const traces = new RequestTraces()
    const stopHeaders = settings.propagate_upstream ? useTraceHeaders(injectTraceHeaders) : () => {}
    const untraced = untracedRoutes(config.metrics.path)

    // Per provider name, until a config reload (plugins/runtime) may have changed what a name means.
    const upstreams = new Map<string, UpstreamInfo>()
    const providerEntries = () => (app.hasDecorator('runtime') ? app.runtime.config : config).providers
    const upstreamOf = (provider: string): UpstreamInfo => {
      let info = upstreams.get(provider)
      if (!info) {
        const entry = providerEntries().find((p) => p.name === provider)
        const adapter = app.hasDecorator('providers') ? app.providers.get(provider) : undefined
        info = {
          genAiName: genAiProviderName(adapter?.type ?? entry?.type),
          address: upstreamAddress(entry?.base_url),
        }
        upstreams.set(provider, info)
      }
      return info
    }

    const finish = (request: FastifyRequest, reply: FastifyReply, aborted: boolean) => {
      const requestTrace = request.requestTrace
      if (!requestTrace) return
      request.requestTrace = null
      if (request.routeOptions.config.inference !== undefined) traces.remove(request.id)
      requestTrace.end({
        statusCode: reply.statusCode,
        gateway: request.gateway,
        requestedModel: requestedModel(request),
        aborted,
      })
    }

    app.decorateRequest('requestTrace', null)

    // Callback-style hooks, as elsewhere: an async hook costs a promise per request.
    app.addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url
      if (route !== undefined && untraced(route)) return done()
      const clock = anchoredClock()
      const { server, parent } = startServerSpan(tracing.tracer, clock, request)
      const inference = request.routeOptions.config.inference
      const requestTrace = new RequestTrace({
        tracer: tracing.tracer,
        clock,
        server,
        parent,
        operation: inference && genAiOperation(inference),
        upstreamOf,
        propagate: settings.propagate_upstream,
      })
      request.requestTrace = requestTrace
      if (inference !== undefined) {
        // Only inference routes are routed: the router's events find the trace by request id.
        traces.add(request.id, requestTrace)
        addStreamTap(request, { chunk: (chunk) => requestTrace.responseModel(chunk) })
      }
      // Fastify runs no onResponse for a client that hung up first (as plugins/spend notes).
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) finish(request, reply, true)
      })
      done()
    })

    app.addHook('onError', (request, _reply, error, done) => {
      request.requestTrace?.failedWith(errorCodeOf(error))
      done()
    })

    app.addHook('onSend', (request, _reply, payload, done) => {
      request.requestTrace?.answered(request.gateway)
      done(null, payload)
    })

    // For a stream, after its last byte: its usage is known by then.
    app.addHook('onResponse', (request, reply, done) => {
      finish(request, reply, false)
      done()
    })

    // The router registers after this plugin; its observers are the same object across reloads.
    app.addHook('onReady', (done) => {
      if (app.hasDecorator('routerState')) app.routerState.observers.add(traces.observer())
      if (app.hasDecorator('runtime')) app.runtime.onSwap(() => upstreams.clear())
      done()
    })

    // In-flight requests have completed by onClose: the spans of those that finished while the app
    // drained are exported too.
    app.addHook('onClose', async () => {
      stopHeaders()
      await tracing.shutdown()
    })
  },
  { name: 'anygate-tracing', fastify: '5.x' },
)
