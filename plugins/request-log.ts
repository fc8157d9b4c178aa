// One structured line per request, written when the response (or the stream) has finished.
// Fastify's own two lines per request are turned off in app.ts in favour of this one.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import type { Bindings, ChildLoggerOptions, Level } from 'pino'
import './call-record.js'
import './route-config.js'

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

type LogArgs = Parameters<FastifyBaseLogger['info']>

/**
 * The per-request logger, made on its first line: Fastify makes a pino child per request, and with
 * the redact paths above its bindings cost a few µs to serialize, for requests that mostly never log
 * (info off, or a line only when something fails). A line its level drops makes no child either.
 */
class LazyRequestLogger {
  #child: FastifyBaseLogger | undefined
  readonly #parent: FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get level(): string {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#logger().level = level
  }

  fatal(...args: LogArgs): void {
    this.#write('fatal', args)
  }
  error(...args: LogArgs): void {
    this.#write('error', args)
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args)
  }
  info(...args: LogArgs): void {
    this.#write('info', args)
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args)
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options)
  }

  #write(level: Level, args: LogArgs): void {
    // Until the child exists its level is the parent's (a route's own logLevel is left to the child).
    const dropped =
      this.#child === undefined &&
      this.#options.level === undefined &&
      this.#parent.isLevelEnabled?.(level) === false
    if (!dropped) this.#logger()[level](...args)
  }

  #logger(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }
}

const quietLevels = new Set(['warn', 'error', 'fatal', 'silent'])
/** Building the log object costs more than writing it; skip both when info is off. */
const infoEnabled = (level: string) => !quietLevels.has(level)

export default fp(
  async (app) => {
    app.decorateRequest('gateway', null)
    app.decorateRequest('streamTaps', null)
    // Root-level (fastify-plugin): every route declared after this plugin gets the lazy logger.
    app.setChildLoggerFactory(
      (logger, bindings, options) =>
        new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger,
    )
    // Callback-style hooks: these run on every request, and an async hook costs a promise each.
    app.decorateRequest('routeConfig', null)
    app.addHook('onRequest', (request, reply, done) => {
      request.routeConfig = request.routeOptions.config
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
