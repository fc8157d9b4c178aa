// The structured usage log (`logging.usage`): one JSON line per request to an inference route
// (config.inference), written once the response is over: for a stream after its last byte, for a
// client that hung up when its socket closed. It is a sink of its own beside the access log
// (plugins/request-log.ts), read by spend reports and replay tools; record.ts documents the fields.
// With `logging.bodies` the request and the answer are added, redacted (redact.ts) and bounded: a
// JSON answer is taken in onSend, a stream's is assembled by a stream tap (stream-capture.ts).
//
// Registered after the spend plugin, so its onResponse reads the cost spend has just set.
// Decorates app.usageLog (stats and flush; null when the usage log is off).
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import { addStreamTap, type InferenceKind } from '../call-record.js'
import '../cache/index.js'
import '../principal.js'
import { routeConfigOf } from '../route-config.js'
import { answerBody, errorCodeOf, type LoggedBody, toLoggedBody } from './bodies.js'
import { type RoutingHeaders, routingFromHeaders, toUsageRecord } from './record.js'
import { createRedactor, type Redactor } from './redact.js'
import { captureChatStream, captureMessageStream, type StreamCapture } from './stream-capture.js'
import { openUsageDestination, type UsageLogStats, UsageLogWriter } from './writer.js'

export interface UsageLogService {
  stats(): UsageLogStats
  /** Resolves once every record so far has been written (tests, shutdown). */
  flush(): Promise<void>
}

/** What the usage log keeps about one call while it runs. */
interface UsageCall {
  logged: boolean
  capture: StreamCapture | null
  /** The text of a JSON reply: kept for errors (their code), and for every reply with bodies on. */
  answer: string | null
}

declare module 'fastify' {
  interface FastifyInstance {
    usageLog: UsageLogService | null
  }
  interface FastifyRequest {
    usageCall: UsageCall | null
  }
}

export interface UsageLogPluginOptions {
  /** `logging:`, and the config file's folder, which a relative destination resolves against. */
  config: Pick<LoadedConfig, 'logging' | 'baseDir'>
  /** Wall clock for `ts` (the one spend days are read from); tests fix it. */
  now?: () => number
}

const dropWarningIntervalMs = 10_000

function callOf(request: FastifyRequest): UsageCall {
  request.usageCall ??= { logged: false, capture: null, answer: null }
  return request.usageCall
}

export default fp(
  async (app, opts: UsageLogPluginOptions) => {
    const settings = opts.config.logging
    if (!settings.usage.enabled) {
      app.decorate('usageLog', null)
      return
    }
    const now = opts.now ?? Date.now
    let lastDropWarning = Number.NEGATIVE_INFINITY
    const writer = new UsageLogWriter(
      openUsageDestination(settings.usage.destination, opts.config.baseDir),
      settings.usage.buffer_bytes,
      {
        onDrop(total) {
          const at = Date.now()
          if (at - lastDropWarning < dropWarningIntervalMs) return
          lastDropWarning = at
          app.log.warn(
            { dropped_total: total, destination: settings.usage.destination },
            'usage log: the destination is behind, records were dropped',
          )
        },
        onError(err) {
          app.log.error(
            { err, destination: settings.usage.destination },
            'usage log: the destination failed, no more records are written',
          )
        },
      },
    )
    const redactor: Redactor | null = settings.bodies ? createRedactor(settings.redact) : null
    const maxBody = settings.max_body_bytes

    app.decorate('usageLog', { stats: () => writer.stats(), flush: () => writer.flush() })
    app.decorateRequest('usageCall', null)

    function responseBody(kind: InferenceKind, status: number, call: UsageCall | null): LoggedBody {
      const streamed = call?.capture?.result() ?? null
      if (streamed !== null) return toLoggedBody(streamed, redactor!, maxBody, call!.capture!.truncated)
      if (call?.answer != null) return toLoggedBody(answerBody(kind, status, call.answer), redactor!, maxBody)
      return { value: null, truncated: false }
    }

    function record(request: FastifyRequest, reply: FastifyReply, aborted: boolean): void {
      const kind = routeConfigOf(request).inference
      if (kind === undefined) return
      const call = request.usageCall
      if (call?.logged) return
      callOf(request).logged = true
      try {
        const status = reply.statusCode
        const errorCode = status >= 400 && call?.answer != null ? errorCodeOf(call.answer) : null
        // A call that never got a gateway record still names, in its error headers, where it went.
        const unserved = request.gateway === null
        const routing: RoutingHeaders = unserved ? routingFromHeaders((name) => reply.getHeader(name)) : {}
        if (unserved) routing.cache ??= request.cacheStatus
        writer.write(
          toUsageRecord({
            now: now(),
            requestId: request.id,
            route: request.routeOptions.url ?? null,
            kind,
            status,
            elapsedMs: reply.elapsedTime,
            principal: request.principal,
            gateway: request.gateway,
            body: request.body,
            routing,
            aborted,
            errorCode,
            ...(redactor && {
              request: toLoggedBody(request.body ?? null, redactor, maxBody),
              response: responseBody(kind, status, call),
            }),
          }),
        )
      } catch (err) {
        request.log.warn({ err }, 'usage log: could not build the record')
      }
    }

    // Callback-style hooks: they run on every inference call.
    app.addHook('onRequest', (request, reply, done) => {
      const kind = routeConfigOf(request).inference
      if (kind === undefined) return done()
      const call = callOf(request)
      if (redactor) {
        // Added here, not in preHandler, so a stream replayed from the cache is captured too.
        call.capture = kind === 'messages' ? captureMessageStream(maxBody) : captureChatStream(maxBody)
        addStreamTap(request, call.capture)
      }
      // Fastify runs no onResponse for a client that left mid-response. The record waits a turn so
      // the spend plugin's own close handler has priced the call.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) setImmediate(() => record(request, reply, true))
      })
      done()
    })

    app.addHook('onSend', (request, reply, payload, done) => {
      if (
        routeConfigOf(request).inference !== undefined &&
        typeof payload === 'string' &&
        (redactor !== null || reply.statusCode >= 400)
      )
        callOf(request).answer = payload
      done()
    })

    app.addHook('onResponse', (request, reply, done) => {
      record(request, reply, false)
      done()
    })

    app.addHook('onClose', async () => {
      await writer.close()
      const { dropped, written } = writer.stats()
      if (dropped > 0) app.log.warn({ dropped, written }, 'usage log: records were dropped')
    })
  },
  {
    name: 'anygate-usage-log',
    fastify: '5.x',
    dependencies: ['anygate-request-log', 'anygate-auth', 'anygate-cache', 'anygate-spend'],
  },
)
