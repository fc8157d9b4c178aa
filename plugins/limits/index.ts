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
import { keysMayExist, modelLimitsTable, requestedModel } from './applicable.js'
import {
  createLibraryLimiter,
  type LibraryLimiter,
  type LibraryResult,
  readLibraryResult,
} from './library-limits.js'
import type { ParallelSlots } from './parallel.js'
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
import type { LimitWindows, WindowCharge } from './windows.js'

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

    /** One @fastify/rate-limit counter: undefined when the store failed (on_error decides). */
    function askLibrary(limiter: LibraryLimiter, request: FastifyRequest) {
      return libraryGuard.run<LibraryResult | undefined>(
        'rate-limit',
        () => limiter(request),
        () => undefined,
      )
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
    // a slot taken for a request some other check refuses is given back at once.
    async function enforce(
      request: FastifyRequest,
      reply: FastifyReply,
      principal: Principal | null,
      modelLimit: number | undefined,
      model: string | undefined,
    ): Promise<void> {
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
      const [global, ip, taken, keySlot, openStream] = await Promise.all([
        globalLimiter && askLibrary(globalLimiter, request),
        ipLimiter && askLibrary(ipLimiter, request),
        charges.length > 0 ? windows.take(charges) : undefined,
        principal && maxParallel !== undefined ? parallel.acquire(principal.id, maxParallel) : undefined,
        streamSlot && parallel.acquire(streamSlot.key, streamSlot.limit),
      ])
      const leases: [key: string, lease: string][] = []
      if (principal && keySlot?.lease !== undefined) leases.push([principal.id, keySlot.lease])
      if (streamSlot && openStream?.lease !== undefined) leases.push([streamSlot.key, openStream.lease])
      const refuse = (err: Error): never => {
        for (const [key, lease] of leases) void parallel.release(key, lease)
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

    // 'close' fires once the response is over whichever way: sent in full (after the last byte of a
    // stream) or cut by the client. onResponse would miss the cut ones and leak their slots.
    function releaseWhenOver(reply: FastifyReply, key: string, lease: string): void {
      const release = () => {
        void parallel.release(key, lease)
      }
      if (reply.raw.destroyed) release()
      else reply.raw.once('close', release)
    }

    app.addHook('preHandler', (request, reply, done) => {
      if (request.routeOptions.config.inference === undefined) return done()
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
      enforce(request, reply, principal, modelLimit, model).then(() => done(), done)
    })
  },
  {
    name: 'anygate-limits',
    fastify: '5.x',
    dependencies: ['anygate-store', 'anygate-auth'],
  },
)
