// The real Redis the store tests run against (127.0.0.1:6379 on these machines; .ci/run starts one
// when none answers). Each test file writes under its own key prefix and deletes it afterwards, so
// runs in parallel, or next to a gateway using the same Redis, never see each other's keys.
import { createServer, type Server, Socket } from 'node:net'
import type { Redis } from 'ioredis'
import { connectAnsweringRedis, deleteKeysUnder } from '../../bench/bench-redis.js'

export const testRedisUrl = process.env.ANYGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A prefix no other run or file shares: `anygate-test:<pid>:<ms>:<label>:`. */
export function uniquePrefix(label: string): string {
  return `anygate-test:${process.pid}:${Date.now()}:${label}:`
}

/**
 * A client for the test itself, or undefined when Redis does not answer. Under CI=true an
 * unreachable Redis throws instead: the tests that need it fail there rather than skip.
 */
export async function connectTestRedis(): Promise<Redis | undefined> {
  try {
    return await connectAnsweringRedis(testRedisUrl)
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(
        `Redis at ${testRedisUrl} is unreachable (${(err as Error).message}); the store tests need it under CI`,
      )
    }
    console.warn(`Redis at ${testRedisUrl} is unreachable: skipping the tests that need it`)
    return undefined
  }
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a busy Redis is not blocked). */
export const deleteKeys = deleteKeysUnder

/** A loopback port where nothing listens: a Redis that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A TCP relay in front of the real Redis that a test can break: `hang()` holds every byte until
 * `restore()` (a stalled Redis: late, never lost), `drop()` cuts the connections and refuses new
 * ones (a stopped Redis), `restore()` relays again.
 */
export interface RedisRelay {
  url: string
  hang(): void
  drop(): void
  restore(): void
  close(): Promise<void>
}

interface Pair {
  sockets: [Socket, Socket]
  /** Bytes held while hanging, with the socket they go to, in arrival order. */
  held: [Socket, Buffer][]
}

export async function startRedisRelay(): Promise<RedisRelay> {
  const target = new URL(testRedisUrl)
  let mode: 'relay' | 'hang' | 'drop' = 'relay'
  const pairs = new Set<Pair>()
  const destroy = (pair: Pair) => {
    for (const socket of pair.sockets) socket.destroy()
    pairs.delete(pair)
  }
  const server: Server = createServer((client) => {
    if (mode === 'drop') {
      client.destroy()
      return
    }
    const upstream = new Socket()
    const pair: Pair = { sockets: [client, upstream], held: [] }
    pairs.add(pair)
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (mode === 'hang') pair.held.push([to, chunk])
      else to.write(chunk)
    }
    client.on('data', forward(upstream))
    upstream.on('data', forward(client))
    for (const socket of pair.sockets)
      socket.on('error', () => destroy(pair)).on('close', () => destroy(pair))
    upstream.connect(Number(target.port || 6379), target.hostname)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `redis://127.0.0.1:${port}`,
    hang: () => {
      mode = 'hang'
    },
    drop: () => {
      mode = 'drop'
      for (const pair of [...pairs]) destroy(pair)
    },
    restore: () => {
      mode = 'relay'
      for (const pair of pairs) {
        for (const [to, chunk] of pair.held.splice(0)) to.write(chunk)
      }
    },
    close: async () => {
      for (const pair of [...pairs]) destroy(pair)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
