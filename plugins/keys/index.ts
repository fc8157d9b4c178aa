// The key directory as a decorator: app.keys, over the memory store or the Redis one, whichever the
// state store is. Registered by the auth plugin, which is its only caller on the request path.
import fp from 'fastify-plugin'
import type { AuthSettings } from './config-schema.js'
import { KeyDirectory } from './directory.js'
import { MemoryKeyStore } from './memory-store.js'
import { RedisKeyStore } from './redis-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyDirectory
  }
}

export interface KeysPluginOptions {
  settings: Pick<AuthSettings, 'keys' | 'key_cache'>
  now?: () => number
}

export default fp(
  async (app, opts: KeysPluginOptions) => {
    const { redis, keyPrefix, onError } = app.stateStore
    const store = redis
      ? new RedisKeyStore({ client: redis, keyPrefix, onError, guard: app.stateStore.guard('keys') })
      : new MemoryKeyStore()
    app.decorate(
      'keys',
      new KeyDirectory({
        store,
        configKeys: opts.settings.keys,
        cache: opts.settings.key_cache,
        onError,
        now: opts.now,
      }),
    )
  },
  { name: 'anygate-keys', fastify: '5.x', dependencies: ['anygate-store'] },
)
