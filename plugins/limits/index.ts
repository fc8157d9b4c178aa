// Request limits on the inference routes, checked after auth (request.principal) and before the
// cache, so a cache hit still counts as a request: limits.global_rpm and limits.per_ip_rpm, the
// key's rpm, limits.models.<name>.rpm, the key's max_parallel and max_streams_per_key, all asked at
// once (one store round trip). Token limits come later in the pipeline (token-limits.ts).
//
// global_rpm and per_ip_rpm go through @fastify/rate-limit (library-limits.ts). Key and model rpm
// use this folder's sliding windows instead: they share one atomic take with each other and with
// tpm, which needs amounts other than 1 and settling afterwards, and their minute is the injected
// clock's.
//
// Store failures: @fastify/rate-limit's skipOnError would let requests through silently; it stays
// off and the same RedisGuard every store uses applies store.on_error (allow: serve, with a
// rate-limited warning; deny: 503).
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config/schema.js'
import type { Principal } from '../principal.js'
import { routeConfigOf } from '../route-config.js'
import { keysMayExist, modelLimitsTable, requestedModel } from './applicable.js'
import {
  createLibraryLimiter,
  type LibraryLimiter,
  type LibraryResult,
  readLibraryResult,
} from './library-limits.js'
import type { ParallelSlots, SlotResult } from './parallel.js'
import {
  type LimitReading,
  type LimitScope,
  limitExceeded,
  limitsUnavailable,
  type Refusal,
  readTake,
  setLimitHeaders,
  tightest,
  tooManyInFlight,
  tooManyMessages,
  tooManyStreams,
} from './responses.js'
import { limitWindowsFor, parallelSlotsFor } from './stores.js'
import type { LimitWindows, TakeResult, WindowCharge } from './windows.js'

/** What each limit check answered: global_rpm, per_ip_rpm, the rpm windows, max_parallel, the stream slot. */
type Answered = [
  global: LibraryResult | undefined,
  ip: LibraryResult | undefined,
  taken: TakeResult | undefined,
  keySlot: SlotResult | undefined,
  openStream: SlotResult | undefined,
]
/** The same, while some store may still be answering. */
type MaybePending<T extends unknown[]> = { [K in keyof T]: T[K] | Promise<T[K]> }
type Answers = MaybePending<Answered>

export interface RequestLimits {
  windows: LimitWindows
  parallel: ParallelSlots
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when request limits can apply: limits.* is set, or keys (which carry limits) can exist. */
    requestLimits?: RequestLimits
  }
}

export interface LimitsPluginOptions {
  /** limits: and auth: (keys carry rpm and max_parallel; they exist only when auth is configured). */
  config: Pick<Config, 'limits' | 'auth'>
  /** Milliseconds since the epoch; tests move it by hand. */
  now?: () => number
}

export default fp(
  async (app, opts: LimitsPluginOptions) => {
    const settings = opts.config.limits
    const modelRpm = modelLimitsTable(settings, 'rpm')
    const perKey = keysMayExist(opts.config.auth)
    const hasLibraryLimits = settings.global_rpm !== undefined || settings.per_ip_rpm !== undefined
    const maxStreams = settings.max_streams_per_key
    const maxMessages = settings.max_messages
    if (
      !perKey &&
      !hasLibraryLimits &&
      modelRpm.size === 0 &&
      maxStreams === undefined &&
      maxMessages === undefined
    )
      return

    const now = opts.now ?? Date.now
    const windows = limitWindowsFor(app, 'request-limits', now)
    const parallel = parallelSlotsFor(app, settings.parallel_lease_ms, now)
    app.decorate('requestLimits', { windows, parallel })

    let globalLimiter: LibraryLimiter | undefined
    let ipLimiter: LibraryLimiter | undefined
    if (settings.global_rpm !== undefined)
      globalLimiter = await createLibraryLimiter(app, settings.global_rpm, () => 'global')
    if (settings.per_ip_rpm !== undefined)
      ipLimiter = await createLibraryLimiter(app, settings.per_ip_rpm, (request) => `ip:${request.ip}`)
    const libraryGuard = app.stateStore.guard('rate-limit')

    /**
     * One @fastify/rate-limit counter: undefined when the store failed (on_error decides). The
     * library's memory store answers at once and cannot fail, so without Redis it skips the guard.
     */
    const askLibrary = app.stateStore.redis
      ? (limiter: LibraryLimiter, request: FastifyRequest) =>
          libraryGuard.run<LibraryResult | undefined>(
            'rate-limit',
            async () => limiter(request),
            () => undefined,
          )
      : (limiter: LibraryLimiter, request: FastifyRequest) => limiter(request)

    // The memory stores answer at once: their sync forms spare a promise per check and request.
    const acquireSlot = (key: string, limit: number): SlotResult | Promise<SlotResult> =>
      parallel.acquireNow ? parallel.acquireNow(key, limit) : parallel.acquire(key, limit)
    const releaseSlot = (key: string, lease: string): void => {
      if (parallel.releaseNow) parallel.releaseNow(key, lease)
      else void parallel.release(key, lease)
    }

    /** The max_streams_per_key slot a streaming request takes, when that limit applies. */
    function streamSlotOf(request: FastifyRequest, principal: Principal | null) {
      if (maxStreams === undefined || (request.body as { stream?: unknown } | undefined)?.stream !== true)
        return undefined
      // Open deployments have no key to count by: the client address stands in for it.
      const virtual = principal !== null && principal.kind !== 'anonymous'
      return {
        key: `stream:${virtual ? `key:${principal.id}` : `ip:${request.ip}`}`,
        who: virtual ? `key "${principal.name}"` : 'your IP address',
        limit: maxStreams,
      }
    }

    // Every check is asked at once, so the request waits for one store round trip, not one per
    // limit. The answers are then read in a fixed order (store down, rpm, max_parallel, streams);
    // a slot taken for a request some other check refuses is given back at once. Returns a promise
    // only when a store answers asynchronously; otherwise refusals are thrown at once.
    function enforce(
      request: FastifyRequest,
      reply: FastifyReply,
      principal: Principal | null,
      modelLimit: number | undefined,
      model: string | undefined,
    ): Promise<void> | undefined {
      const charges: WindowCharge[] = []
      const scopes: LimitScope[] = []
      if (principal?.rpm !== undefined) {
        charges.push({ key: `rpm:key:${principal.id}`, limit: principal.rpm, amount: 1 })
        scopes.push({ kind: 'key', name: principal.name })
      }
      if (modelLimit !== undefined && model !== undefined) {
        charges.push({ key: `rpm:model:${model}`, limit: modelLimit, amount: 1 })
        scopes.push({ kind: 'model', name: model })
      }
      const maxParallel = principal?.max_parallel
      const streamSlot = streamSlotOf(request, principal)
      const answers: Answers = [
        globalLimiter && askLibrary(globalLimiter, request),
        ipLimiter && askLibrary(ipLimiter, request),
        charges.length === 0 ? undefined : windows.takeNow ? windows.takeNow(charges) : windows.take(charges),
        principal && maxParallel !== undefined ? acquireSlot(principal.id, maxParallel) : undefined,
        streamSlot && acquireSlot(streamSlot.key, streamSlot.limit),
      ]
      const judge = ([global, ip, taken, keySlot, openStream]: Answered): void => {
        const leases: [key: string, lease: string][] = []
        if (principal && keySlot?.lease !== undefined) leases.push([principal.id, keySlot.lease])
        if (streamSlot && openStream?.lease !== undefined) leases.push([streamSlot.key, openStream.lease])
        const refuse = (err: Error): never => {
          for (const [key, lease] of leases) releaseSlot(key, lease)
          throw err
        }

        const libraryDown = (globalLimiter && global === undefined) || (ipLimiter && ip === undefined)
        if ((libraryDown && libraryGuard.onError === 'deny') || (taken?.degraded && !taken.admitted))
          refuse(limitsUnavailable())
        const readings: LimitReading[] = []
        const refusals: Refusal[] = []
        for (const [result, scope] of [
          [global, { kind: 'global' }],
          [ip, { kind: 'ip' }],
        ] as const) {
          if (!result) continue
          const read = readLibraryResult(result, scope)
          if (read.reading) readings.push(read.reading)
          if (read.refusal) refusals.push(read.refusal)
        }
        if (taken && !taken.degraded) {
          const read = readTake(taken, charges, scopes, 'requests')
          readings.push(...read.readings)
          if (read.refusal) refusals.push(read.refusal)
        }
        if (refusals.length > 0) {
          // The client has to wait for every limit it hit: report the longest wait.
          const refusal = refusals.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
          setLimitHeaders(reply, 'requests', { limit: refusal.limit, remaining: 0, resetMs: refusal.resetMs })
          refuse(limitExceeded(refusal))
        }
        const reading = tightest(readings)
        if (reading) setLimitHeaders(reply, 'requests', reading)

        if (principal && maxParallel !== undefined && keySlot && !keySlot.acquired)
          refuse(keySlot.degraded ? limitsUnavailable() : tooManyInFlight(principal.name, maxParallel))
        if (streamSlot && openStream && !openStream.acquired)
          refuse(openStream.degraded ? limitsUnavailable() : tooManyStreams(streamSlot.who, streamSlot.limit))
        for (const [key, lease] of leases) releaseWhenOver(reply, key, lease)
      }
      if (answers.some((answer) => answer instanceof Promise)) return Promise.all(answers).then(judge)
      judge(answers as Answered)
      return undefined
    }

    // 'close' fires once the response is over whichever way: sent in full (after the last byte of a
    // stream) or cut by the client. onResponse would miss the cut ones and leak their slots.
    function releaseWhenOver(reply: FastifyReply, key: string, lease: string): void {
      const release = () => releaseSlot(key, lease)
      if (reply.raw.destroyed) release()
      else reply.raw.once('close', release)
    }

    app.addHook('preHandler', (request, reply, done) => {
      if (routeConfigOf(request).inference === undefined) return done()
      if (maxMessages !== undefined) {
        const messages = (request.body as { messages?: unknown } | undefined)?.messages
        if (Array.isArray(messages) && messages.length > maxMessages)
          return done(tooManyMessages(messages.length, maxMessages))
      }
      const principal = request.principal
      const model = modelRpm.size > 0 ? requestedModel(request.body) : undefined
      const modelLimit = model === undefined ? undefined : modelRpm.get(model)
      if (
        !hasLibraryLimits &&
        modelLimit === undefined &&
        principal?.rpm === undefined &&
        principal?.max_parallel === undefined &&
        maxStreams === undefined
      ) {
        return done()
      }
      let enforced: Promise<void> | undefined
      try {
        enforced = enforce(request, reply, principal, modelLimit, model)
      } catch (err) {
        return done(err as Error)
      }
      if (enforced) enforced.then(() => done(), done)
      else done()
    })
  },
  {
    name: 'anygate-limits',
    fastify: '5.x',
    dependencies: ['anygate-store', 'anygate-auth'],
  },
)
