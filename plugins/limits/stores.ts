// Picks the memory or the Redis implementation of the limit stores from app.stateStore.
import type { FastifyInstance } from 'fastify'
import { MemoryParallelSlots, type ParallelSlots, RedisParallelSlots } from './parallel.js'
import { RedisLimitWindows } from './redis-windows.js'
import { type LimitWindows, MemoryLimitWindows } from './windows.js'

/** `store` names these windows in the warnings logged while Redis is unreachable. */
export function limitWindowsFor(app: FastifyInstance, store: string, now: () => number): LimitWindows {
  const { redis, keyPrefix, onError } = app.stateStore
  return redis
    ? new RedisLimitWindows({
        client: redis,
        keyPrefix,
        onError,
        now,
        store,
        guard: app.stateStore.guard(store),
      })
    : new MemoryLimitWindows(now)
}

export function parallelSlotsFor(app: FastifyInstance, leaseMs: number, now: () => number): ParallelSlots {
  const { redis, keyPrefix, onError } = app.stateStore
  return redis
    ? new RedisParallelSlots({
        client: redis,
        keyPrefix,
        onError,
        leaseMs,
        now,
        guard: app.stateStore.guard('max-parallel'),
      })
    : new MemoryParallelSlots()
}
