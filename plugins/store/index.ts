// The state store: where state that replicas share lives (breaker records now; keys, limits, budgets
// and the cache use the same one). `memory` keeps it per process and opens no connection. `redis`
// opens one ioredis client for every store, bounded so that a dead or hung Redis costs a call one
// command timeout and never hangs it; the stores turn failures into store.on_error's answer.
//
// The client belongs to @fastify/redis (it decorates app.redis and quits the client on close) when
// Redis answers at startup. @fastify/redis holds the boot until its client is ready, so with Redis
// down a replica could not start at all, whatever on_error says; then this plugin keeps the client
// reconnecting in the background and disconnects it on close itself. Stores take
// app.stateStore.redis, present either way, and never close it.
//
// ioredis and @fastify/redis are imported only when the store is redis: with the default memory
// store they would hold a few MB of heap in every process for nothing.
import fp from 'fastify-plugin'
import type { Redis, RedisOptions } from 'ioredis'
import type { StoreSettings } from '../../config/schema.js'
import { type OnStoreError, RedisGuard, type StoreLogger } from './redis-guard.js'

export interface StateStore {
  type: StoreSettings['type']
  /** Put before every key, e.g. `anygate:breaker:<target>`. */
  keyPrefix: string
  onError: OnStoreError
  /** The shared client when type is redis; not connected yet if Redis was down at startup. */
  redis?: Redis
  /** A guard for one Redis-backed store, answering per on_error and reporting each fallback. */
  guard(store: string, log?: StoreLogger): RedisGuard
  /** Hears every call that got the on_error answer (the metrics plugin counts them). */
  onFallback(listener: (store: string, onError: OnStoreError) => void): void
}

function stateStore(
  fields: Pick<StateStore, 'type' | 'keyPrefix' | 'onError' | 'redis'>,
  log: StoreLogger,
): StateStore {
  // Stores are built before the metrics plugin registers, so listeners are looked up per fallback.
  const listeners: Array<(store: string, onError: OnStoreError) => void> = []
  const onFallback = (store: string, onError: OnStoreError) => {
    for (const listener of listeners) listener(store, onError)
  }
  return {
    ...fields,
    guard: (store, storeLog = log) =>
      new RedisGuard({ onError: fields.onError, store, log: storeLog, onFallback }),
    onFallback: (listener) => {
      listeners.push(listener)
    },
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    stateStore: StateStore
  }
}

export interface StorePluginOptions {
  settings: StoreSettings
}

const connectTimeoutMs = 1000

/** Client options: every wait bounded, nothing queued while disconnected. */
export const redisClientOptions: RedisOptions = {
  lazyConnect: true,
  connectTimeout: connectTimeoutMs,
  // A command Redis does not answer in time fails; the store answers per on_error.
  commandTimeout: 500,
  // While disconnected, commands fail at once instead of waiting in a queue for a reconnect.
  enableOfflineQueue: false,
  // The commands every concurrent call issues in one event-loop turn go out as one pipeline: one
  // write and one read for the batch instead of one each per command (a call with every check on
  // runs ~17). The offline behaviour above is unchanged; a command's timeout starts when its batch
  // is sent, and a batch waits for the one before it, so a stalled Redis fails a command within
  // about twice commandTimeout instead of once (test/store-redis-down.test.ts).
  enableAutoPipelining: true,
  // Commands in flight when the connection drops fail too instead of being replayed later.
  maxRetriesPerRequest: 0,
  // Reconnect forever, at most every 2 s, so Redis coming back is picked up without a restart.
  retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
}

/** Resolves true once the client is ready, false when the first attempt failed or took too long. */
async function connectWithin(client: Redis, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const connected = client.connect().then(
    () => true,
    () => false,
  )
  const ready = await Promise.race([connected, timedOut])
  clearTimeout(timer)
  return ready
}

export default fp(
  async (app, opts: StorePluginOptions) => {
    const { type, url, key_prefix: keyPrefix, on_error: onError } = opts.settings
    if (type === 'memory') {
      app.decorate('stateStore', stateStore({ type: 'memory', keyPrefix, onError }, app.log))
      return
    }
    const [{ Redis }, { default: fastifyRedis }] = await Promise.all([
      import('ioredis'),
      import('@fastify/redis'),
    ])
    // config/load.ts refuses type redis without a url.
    const client = new Redis(url!, redisClientOptions)
    // ioredis reports every failed reconnect; without a listener it prints each one to stderr.
    let lastWarnAt = Number.NEGATIVE_INFINITY
    client.on('error', (err: Error) => {
      if (Date.now() - lastWarnAt < 10_000) return
      lastWarnAt = Date.now()
      app.log.warn({ err: err.message, on_error: onError }, 'redis connection failed; retrying')
    })
    if (await connectWithin(client, connectTimeoutMs + 500)) {
      await app.register(fastifyRedis, { client, closeClient: true })
    } else {
      app.log.warn(
        { on_error: onError },
        `redis did not answer at startup; starting without it (store.on_error: ${onError}) and reconnecting`,
      )
      app.addHook('onClose', async () => {
        client.disconnect()
      })
    }
    app.decorate('stateStore', stateStore({ type, keyPrefix, onError, redis: client }, app.log))
  },
  { name: 'anygate-store', fastify: '5.x' },
)
