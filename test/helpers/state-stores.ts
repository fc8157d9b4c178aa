// The state stores a gateway test runs against: memory, and the real Redis under the test file's own
// key prefix, which the file deletes once its tests are done.
import type { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { connectTestRedis, deleteKeys, testRedisUrl } from './redis.js'

/**
 * The test file's own Redis client, undefined when Redis does not answer (outside CI). After the
 * file's tests it deletes every key under `prefix` and quits. Call it at the top of the file.
 */
export async function connectRedisForFile(prefix: string): Promise<Redis | undefined> {
  const redis = await connectTestRedis()
  afterAll(async () => {
    if (!redis) return
    await deleteKeys(redis, prefix)
    await redis.quit()
  })
  return redis
}

export interface StoreKind {
  name: 'memory' | 'redis'
  /** False for Redis when it does not answer: the suite skips that kind. */
  available: boolean
  /** A `store:` config section; each Redis one gets a fresh sub-prefix, so tests never share keys. */
  store: () => Record<string, unknown>
}

/** Memory and Redis, for `describe.each`: one suite asserts both behave the same. */
export function storeKinds(redis: Redis | undefined, prefix: string): StoreKind[] {
  let count = 0
  return [
    { name: 'memory', available: true, store: () => ({ type: 'memory' }) },
    {
      name: 'redis',
      available: redis !== undefined,
      store: () => ({ type: 'redis', url: testRedisUrl, key_prefix: `${prefix}${++count}:` }),
    },
  ]
}
