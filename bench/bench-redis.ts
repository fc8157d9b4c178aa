// The Redis the stack-redis variant runs on: checked before any server starts, so a Redis that is
// down fails the run with a clear message instead of a variant silently measuring its fallback; and
// emptied of the run's keys afterwards.
import { Redis } from 'ioredis'
import type { RedisPlace } from './anygate-variants.js'

export const defaultBenchRedisUrl = 'redis://127.0.0.1:6379'

/** A prefix no other run shares: `anygate-bench:<pid>:<ms>:`. */
export function benchKeyPrefix(pid = process.pid, now = Date.now()): string {
  return `anygate-bench:${pid}:${now}:`
}

/**
 * A client that answered PING, or the connection error: one bounded attempt, no reconnecting.
 * The store tests' Redis helper (test/helpers/redis.ts) connects the same way.
 */
export async function connectAnsweringRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return client
  } catch (err) {
    client.disconnect()
    throw err
  }
}

/** A client that answered PING; throws naming the url and how to choose another otherwise. */
export async function connectBenchRedis(url: string): Promise<Redis> {
  try {
    return await connectAnsweringRedis(url)
  } catch (err) {
    throw new Error(
      `Redis at ${url} is not answering (${(err as Error).message}): the plugins scenario's ` +
        'anygate-stack-redis variant needs it. Start Redis, point BENCH_REDIS_URL at one, or leave the ' +
        'scenario out (--only=fixed,throughput,stream,cache).',
    )
  }
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a shared Redis is not blocked). */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<number> {
  let deleted = 0
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) deleted += await client.del(...keys)
  } while (cursor !== '0')
  return deleted
}

/** Deletes every key the run wrote. */
export const deleteBenchKeys = (client: Redis, place: RedisPlace): Promise<number> =>
  deleteKeysUnder(client, place.keyPrefix)
