// One structured line per request, written when the response (or the stream) has finished.
// Fastify's own two lines per request are turned off in app.ts in favour of this one.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import './call-record.js'

const safeRequestId = /^[A-Za-z0-9._:@/+=-]{1,128}$/

/** Echoes a caller's x-request-id when it is short and printable, so it can't forge log lines. */
export function requestIdFor(req: IncomingMessage): string {
  const sent = req.headers['x-request-id']
  return typeof sent === 'string' && safeRequestId.test(sent) ? sent : randomUUID()
}

/** Paths pino replaces with [redacted] wherever they appear in a log object. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers["x-anygate-provider-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'api_key',
  '*.api_key',
  '*.*.api_key',
  'master_key',
  '*.master_key',
]

const quietLevels = new Set(['warn', 'error', 'fatal', 'silent'])
/** Building the log object costs more than writing it; skip both when info is off. */
const infoEnabled = (level: string) => !quietLevels.has(level)

export default fp(
  async (app) => {
    app.decorateRequest('gateway', null)
    app.decorateRequest('streamTaps', null)
    // Callback-style hooks: these run on every request, and an async hook costs a promise each.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      if (!infoEnabled(request.log.level)) return done()
      const gateway = request.gateway
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          latency_ms: Math.round(reply.elapsedTime * 100) / 100,
          model: gateway?.model,
          provider: gateway?.provider,
          upstream_model: gateway?.upstreamModel,
        },
        'request completed',
      )
      done()
    })
  },
  { name: 'anygate-request-log', fastify: '5.x' },
)
