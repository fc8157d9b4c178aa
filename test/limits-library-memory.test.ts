// Without Redis, global_rpm and per_ip_rpm ask @fastify/rate-limit's memory store directly
// (library-limits.ts) instead of through the library's limiter: every answer must be the one the
// library's own createRateLimit() limiter gives, across a window's refusals and its reset.
import rateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { afterEach, expect, it, vi } from 'vitest'
import { createLibraryLimiter } from '../plugins/limits/library-limits.js'
import { windowMs } from '../plugins/limits/sliding-window.js'

afterEach(() => {
  vi.useRealTimers()
})

async function libraryLimiter(max: number, keyOf: (request: FastifyRequest) => string) {
  const app = Fastify()
  await app.register(rateLimit, { global: false, max, timeWindow: windowMs, keyGenerator: keyOf })
  await app.ready()
  return app.createRateLimit()
}

/** createLibraryLimiter reads only app.stateStore: no Redis, so the memory store. */
function memoryLimiter(max: number, keyOf: (request: FastifyRequest) => string) {
  const app = { stateStore: { redis: undefined, keyPrefix: '' } } as unknown as FastifyInstance
  return createLibraryLimiter(app, max, keyOf)
}

it('answers as the library limiter does: counts, refusals, time left and the next window', async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.UTC(2026, 0, 1, 12, 0, 0))
  const keyOf = (request: FastifyRequest) => `ip:${request.ip}`
  const [library, memory] = [await libraryLimiter(2, keyOf), await memoryLimiter(2, keyOf)]
  const callers = ['10.0.0.1', '10.0.0.2'].map(
    (ip) => ({ ip, routeOptions: { config: {} } }) as FastifyRequest,
  )
  for (const advanceMs of [0, 1_500, 20_000, 38_499, 1, 5_000]) {
    vi.advanceTimersByTime(advanceMs)
    for (const caller of [callers[0]!, callers[0]!, callers[0]!, callers[1]!]) {
      expect(await memory(caller)).toEqual(await library(caller))
    }
  }
})
