// Picks the memory or the Redis implementation of the limit stores from app.stateStore.
import type { FastifyInstance } from 'fastify'
import { MemoryParallelSlots, type ParallelSlots, RedisParallelSlots } from './parallel.js'
import { RedisLimitWindows } from './redis-windows.js'
import { type LimitWindows, MemoryLimitWindows } from './windows.js'

/** What every Redis-backed limit store takes from app.stateStore; undefined on the memory store. */
function redisStoreOptions(app: FastifyInstance, store: string) {
  const { redis, keyPrefix, onError } = app.stateStore
  return redis ? { client: redis, keyPrefix, onError, guard: app.stateStore.guard(store) } : undefined
}

/** `store` names these windows in the warnings logged while Redis is unreachable. */
export function limitWindowsFor(app: FastifyInstance, store: string, now: () => number): LimitWindows {
  const redis = redisStoreOptions(app, store)
  return redis ? new RedisLimitWindows({ ...redis, now, store }) : new MemoryLimitWindows(now)
}

export function parallelSlotsFor(app: FastifyInstance, leaseMs: number, now: () => number): ParallelSlots {
  const redis = redisStoreOptions(app, 'max-parallel')
  return redis ? new RedisParallelSlots({ ...redis, leaseMs, now }) : new MemoryParallelSlots()
}
