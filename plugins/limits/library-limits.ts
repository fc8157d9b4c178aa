// global_rpm and per_ip_rpm on @fastify/rate-limit: a fixed 60 s window per counter, opened by its
// first request, on its Redis store when store.type is redis.
//
// Each limiter registers the library in a scope of its own and takes the scope's plugin-level store.
// createRateLimit(options) would build a per-route child store keyed `<method><url>-<key>`, and with
// no route here that came out as `limits:rl:undefinedundefined-global`; the plugin-level store keys
// are the namespace plus the key: `<prefix>limits:rl:global`, `<prefix>limits:rl:ip:<address>`.
//
// Without Redis the library's own memory store is asked directly and answers at once: the same
// counts (its LRU of counters, its fixed windows), without the promises of the library's request path.
import rateLimit from '@fastify/rate-limit'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { LimitReading, LimitScope, Refusal } from './responses.js'
import { windowMs } from './sliding-window.js'

export type LibraryResult = Awaited<ReturnType<ReturnType<FastifyInstance['createRateLimit']>>>
export type LibraryLimiter = (request: FastifyRequest) => LibraryResult | Promise<LibraryResult>

export async function createLibraryLimiter(
  app: FastifyInstance,
  max: number,
  keyOf: (request: FastifyRequest) => string,
): Promise<LibraryLimiter> {
  const { redis, keyPrefix } = app.stateStore
  if (!redis) return createMemoryLimiter(max, keyOf)
  let limiter: LibraryLimiter | undefined
  await app.register(async (scope) => {
    await scope.register(rateLimit, {
      global: false,
      max,
      timeWindow: windowMs,
      keyGenerator: keyOf,
      redis,
      nameSpace: `${keyPrefix}limits:rl:`,
      // Off: store failures go through the RedisGuard instead (store.on_error), see index.ts.
      skipOnError: false,
    })
    limiter = scope.createRateLimit()
  })
  return limiter!
}

/**
 * The library's memory store with the options the plugin gives it by default (no continueExceeding,
 * no exponential backoff, 5000 counters), and the result its createRateLimit() limiter builds.
 */
function createMemoryLimiter(max: number, keyOf: (request: FastifyRequest) => string): LibraryLimiter {
  const store = new LocalStore(false, false)
  return (request) => {
    const key = keyOf(request)
    let counted = { current: 0, ttl: 0 }
    // LocalStore calls back at once: it has no I/O.
    store.incr(key, (_err, result) => (counted = result), windowMs, max)
    const { current, ttl } = counted
    return {
      isAllowed: false,
      key,
      max,
      timeWindow: windowMs,
      remaining: Math.max(0, max - current),
      ttl,
      ttlInSeconds: Math.ceil(ttl / 1000),
      isExceeded: current > max,
      isBanned: false,
    }
  }
}

/** What one library counter says: a reading for the headers, and a refusal when it is exceeded. */
export function readLibraryResult(
  result: LibraryResult,
  scope: LimitScope,
): { reading?: LimitReading; refusal?: Refusal } {
  if (result.isAllowed) return {}
  const reading = { limit: result.max, remaining: result.remaining, resetMs: result.ttl }
  if (!result.isExceeded) return { reading }
  const refusal: Refusal = {
    unit: 'requests',
    scope,
    limit: result.max,
    used: result.max,
    requested: 1,
    retryAfterMs: result.ttl,
    resetMs: result.ttl,
  }
  return { reading, refusal }
}
