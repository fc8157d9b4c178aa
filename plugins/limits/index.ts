// Request limits on the inference routes, checked after auth (request.principal) and before the
// cache, so a cache hit still counts as a request: limits.global_rpm and limits.per_ip_rpm, the
// key's rpm, limits.models.<name>.rpm, then the key's max_parallel. Token limits come later in the
// pipeline (token-limits.ts).
//
// global_rpm and per_ip_rpm go through @fastify/rate-limit (a fixed 60 s window per counter, opened
// by its first request; its Redis store when store.type is redis). Key and model rpm use this
// folder's sliding windows instead: they share one atomic take with each other and with tpm, which
// needs amounts other than 1 and settling afterwards, and their minute is the injected clock's.
//
// Store failures: @fastify/rate-limit's skipOnError would let requests through silently; it stays
// off and the same RedisGuard every store uses applies store.on_error (allow: serve, with a
// rate-limited warning; deny: 503).
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config/schema.js'
import type { Principal } from '../principal.js'
import { keysMayExist, modelLimitsTable, requestedModel } from './applicable.js'
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
import { windowMs } from './sliding-window.js'
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

type Limiter = ReturnType<FastifyInstance['createRateLimit']>
type LimiterResult = Awaited<ReturnType<Limiter>>

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

    let globalLimiter: Limiter | undefined
    let ipLimiter: Limiter | undefined
    if (hasLibraryLimits) {
      const { redis, keyPrefix } = app.stateStore
      await app.register(rateLimit, {
        global: false,
        ...(redis ? { redis, nameSpace: `${keyPrefix}limits:rl:` } : {}),
        skipOnError: false,
      })
      if (settings.global_rpm !== undefined) {
        globalLimiter = app.createRateLimit({
          max: settings.global_rpm,
          timeWindow: windowMs,
          keyGenerator: () => 'global',
        })
      }
      if (settings.per_ip_rpm !== undefined) {
        ipLimiter = app.createRateLimit({
          max: settings.per_ip_rpm,
          timeWindow: windowMs,
          keyGenerator: (request) => `ip:${request.ip}`,
        })
      }
    }
    const libraryGuard = app.stateStore.guard('rate-limit')

    /** One @fastify/rate-limit counter: undefined when the store failed and on_error is allow. */
    async function checkLibrary(
      limiter: Limiter,
      request: FastifyRequest,
      scope: LimitScope,
      readings: LimitReading[],
      refusals: Refusal[],
    ): Promise<void> {
      const result = await libraryGuard.run<LimiterResult | undefined>(
        'rate-limit',
        () => limiter(request),
        () => undefined,
      )
      if (result === undefined) {
        if (libraryGuard.onError === 'deny') throw limitsUnavailable()
        return
      }
      if (result.isAllowed) return
      readings.push({ limit: result.max, remaining: result.remaining, resetMs: result.ttl })
      if (result.isExceeded) {
        refusals.push({
          unit: 'requests',
          scope,
          limit: result.max,
          used: result.max,
          requested: 1,
          retryAfterMs: result.ttl,
          resetMs: result.ttl,
        })
      }
    }

    async function checkWindows(
      charges: WindowCharge[],
      scopes: LimitScope[],
      readings: LimitReading[],
      refusals: Refusal[],
    ): Promise<void> {
      const taken = await windows.take(charges)
      if (taken.degraded) {
        if (!taken.admitted) throw limitsUnavailable()
        return
      }
      const read = readTake(taken, charges, scopes, 'requests')
      readings.push(...read.readings)
      if (read.refusal) refusals.push(read.refusal)
    }

    async function enforce(
      request: FastifyRequest,
      reply: FastifyReply,
      principal: Principal | null,
      modelLimit: number | undefined,
      model: string | undefined,
    ): Promise<void> {
      const readings: LimitReading[] = []
      const refusals: Refusal[] = []
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
      await Promise.all([
        globalLimiter && checkLibrary(globalLimiter, request, { kind: 'global' }, readings, refusals),
        ipLimiter && checkLibrary(ipLimiter, request, { kind: 'ip' }, readings, refusals),
        charges.length > 0 && checkWindows(charges, scopes, readings, refusals),
      ])
      if (refusals.length > 0) {
        // The client has to wait for every limit it hit: report the longest wait.
        const refusal = refusals.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
        setLimitHeaders(reply, 'requests', { limit: refusal.limit, remaining: 0, resetMs: refusal.resetMs })
        throw limitExceeded(refusal)
      }
      const reading = tightest(readings)
      if (reading) setLimitHeaders(reply, 'requests', reading)

      const maxParallel = principal?.max_parallel
      if (principal && maxParallel !== undefined) {
        const slot = await parallel.acquire(principal.id, maxParallel)
        if (!slot.acquired)
          throw slot.degraded ? limitsUnavailable() : tooManyInFlight(principal.name, maxParallel)
        if (slot.lease !== undefined) releaseWhenOver(reply, principal.id, slot.lease)
      }

      if (maxStreams !== undefined && (request.body as { stream?: unknown } | undefined)?.stream === true) {
        // Open deployments have no key to count by: the client address stands in for it.
        const virtual = principal !== null && principal.kind !== 'anonymous'
        const caller = virtual ? `key:${principal.id}` : `ip:${request.ip}`
        const slot = await parallel.acquire(`stream:${caller}`, maxStreams)
        if (!slot.acquired) {
          const who = virtual ? `key "${principal.name}"` : 'your IP address'
          throw slot.degraded ? limitsUnavailable() : tooManyStreams(who, maxStreams)
        }
        if (slot.lease !== undefined) releaseWhenOver(reply, `stream:${caller}`, slot.lease)
      }
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
