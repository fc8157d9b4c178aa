// The response cache for POST /v1/chat/completions and /v1/embeddings (routes with
// config.inference 'chat' or 'embeddings'). Its preHandler looks the request up and, on a hit,
// answers right there, so the plugins registered after it (spend reservation, token limits) and the
// router never run. A miss is recorded on its way out: a JSON answer in onSend, a stream through a
// stream tap once it completed. With no model cached, no hook is added at all.
//
// Decorates request.cacheStatus (HIT | MISS | BYPASS; markServed copies it into request.gateway)
// and app.responseCache (the store: bytes() for metrics, clear() for DELETE /admin/cache; null when
// off).
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { addStreamTap, type CacheStatus } from '../call-record.js'
import { routeConfigOf } from '../route-config.js'
import { followRuntime } from '../runtime/follow.js'
import { cacheKeyFor } from './cache-key.js'
import type { CacheSettings, ModelCacheSettings } from './config-schema.js'
import { MemoryCacheStore } from './memory-store.js'
import { CachePolicies, isCacheableSampling, readCacheControl } from './policy.js'
import { RedisCacheStore } from './redis-store.js'
import { StreamRecorder, serveHit } from './replay.js'
import { type CachedAnswer, newCachedAnswer, type ResponseCacheStore } from './store.js'

/** A miss to store once its answer is known. */
interface PendingWrite {
  key: string
  model: string
  ttlMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The cache's backend; null when no model is cached. */
    responseCache: ResponseCacheStore | null
  }
  interface FastifyRequest {
    /** BYPASS until the cache plugin decides otherwise; markServed copies it into request.gateway. */
    cacheStatus: CacheStatus
    /** Set on a JSON miss that may be stored; onSend stores the answer. */
    cacheWrite: PendingWrite | null
  }
}

export interface CachePluginOptions {
  settings: CacheSettings
  models: readonly { name: string; cache?: ModelCacheSettings }[]
  /** The memory backend's monotonic clock; tests expire entries without waiting. */
  now?: () => number
}

interface CacheableBody {
  model: string
  stream?: boolean
  temperature?: unknown
  stream_options?: { include_usage?: boolean } | null
}

export function createCacheHooks(
  store: ResponseCacheStore,
  policies: Pick<CachePolicies, 'for'>,
  settings: CacheSettings,
) {
  const principalOf = (request: FastifyRequest) =>
    settings.shared ? null : (request.principal?.id ?? 'anonymous')

  /** Stores a finished answer under the pending write, unless it outgrew max_entry_bytes. */
  function storeAnswer(
    write: PendingWrite,
    gateway: NonNullable<FastifyRequest['gateway']>,
    { kind, body, chunks }: Pick<CachedAnswer, 'kind' | 'body' | 'chunks'>,
  ): void {
    const answer = newCachedAnswer({
      kind,
      model: write.model,
      provider: gateway.provider,
      upstreamModel: gateway.upstreamModel,
      usage: gateway.usage ?? null,
      body,
      chunks,
    })
    if (answer.bytes <= settings.max_entry_bytes) void store.set(write.key, answer, write.ttlMs)
  }

  function startWrite(request: FastifyRequest, write: PendingWrite, stream: boolean): void {
    if (!stream) {
      request.cacheWrite = write
      return
    }
    addStreamTap(
      request,
      new StreamRecorder(settings.max_entry_bytes, (chunks) => {
        const gateway = request.gateway
        if (!gateway || gateway.streamError) return
        storeAnswer(write, gateway, { kind: 'stream', body: '', chunks })
      }),
    )
  }

  function lookUp(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const kind = routeConfigOf(request).inference
    if (kind !== 'chat' && kind !== 'embeddings') return done()
    const body = request.body as CacheableBody & Record<string, unknown>
    const policy = policies.for(body.model)
    if (!policy.enabled) return done()
    // Read first, so a bad x-anygate-cache-ttl is a 400 whenever the model is cached.
    let control: ReturnType<typeof readCacheControl>
    try {
      control = readCacheControl(request.headers, settings.max_ttl_seconds)
    } catch (err) {
      return done(err as Error)
    }
    if (kind === 'chat' && !isCacheableSampling(body, settings.cache_nonzero_temperature)) return done()
    if (!control.read && !control.write) return done()
    request.cacheStatus = 'MISS'
    const stream = body.stream === true
    const key = cacheKeyFor(kind, principalOf(request), body)
    const write: PendingWrite | null = control.write
      ? { key, model: body.model, ttlMs: control.ttlMs ?? policy.ttlMs }
      : null
    if (!control.read) {
      if (write) startWrite(request, write, stream)
      return done()
    }
    store.get(key).then(
      (answer) => {
        if (answer && answer.kind === (stream ? 'stream' : 'json')) {
          serveHit(request, reply, answer, body.stream_options?.include_usage === true)
          return
        }
        if (write) startWrite(request, write, stream)
        done()
      },
      // The stores never reject; should one, the request goes on uncached.
      () => done(),
    )
  }

  function storeJsonAnswer(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err?: Error | null, payload?: unknown) => void,
  ) {
    const write = request.cacheWrite
    if (write === null) return done()
    request.cacheWrite = null
    const gateway = request.gateway
    if (reply.statusCode === 200 && gateway !== null && typeof payload === 'string') {
      storeAnswer(write, gateway, { kind: 'json', body: payload, chunks: [] })
    }
    done()
  }

  return { lookUp, storeJsonAnswer }
}

export default fp(
  async (app, opts: CachePluginOptions) => {
    const { settings } = opts
    app.decorateRequest('cacheStatus', 'BYPASS')
    const policies = new CachePolicies(settings, opts.models)
    if (!policies.anyEnabled) {
      app.decorate('responseCache', null)
      return
    }
    let store: ResponseCacheStore
    if (settings.backend === 'redis') {
      const client = app.stateStore.redis
      if (!client) {
        throw new Error(
          'cache.backend is redis but store.type is memory: set store.type: redis and store.url, or cache.backend: memory',
        )
      }
      store = new RedisCacheStore({ client, keyPrefix: app.stateStore.keyPrefix, log: app.log })
    } else {
      store = new MemoryCacheStore({
        maxBytes: settings.max_bytes,
        maxEntryBytes: settings.max_entry_bytes,
        now: opts.now,
      })
    }
    app.decorate('responseCache', store)
    app.decorateRequest('cacheWrite', null)
    // A reload (plugins/runtime) may change models[].cache: the policies follow the running config.
    const current = followRuntime(app, (runtime) =>
      runtime.config.models === opts.models ? policies : new CachePolicies(settings, runtime.config.models),
    )
    const hooks = createCacheHooks(store, { for: (model) => current().for(model) }, settings)
    app.addHook('preHandler', hooks.lookUp)
    app.addHook('onSend', hooks.storeJsonAnswer)
  },
  {
    name: 'anygate-cache',
    fastify: '5.x',
    dependencies: ['anygate-request-log', 'anygate-store', 'anygate-auth'],
  },
)
