// Prometheus metrics: GET /metrics (metrics.path) in the text format, from a registry of this app's
// own. Counting costs one onResponse hook per request, attached to each route as it is declared
// (so it runs after every app-wide onResponse hook, the spend plugin's pricing included, and knows
// its route pattern without looking it up), plus an onError hook on inference routes. The router's
// decisions, attempts and breaker transitions come from its observers; the gauges for circuit state,
// in-flight calls and cache size are read at scrape time.
//
// Registered before the router and the routes (app.ts), so it sees every route declared after it;
// the router and the cache are looked up once the app is ready.
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Registry } from 'prom-client'
import type { PublicModel } from '../../config/schema.js'
import { targetId } from '../router/types.js'
import type { OnStoreError } from '../store/redis-guard.js'
import { CallRecorder, memo } from './call-recorder.js'
import type { CounterCell } from './cell-counter.js'
import type { MetricsSettings } from './config-schema.js'
import { createMetricSet, type LiveSources } from './definitions.js'
import { BoundedLabels } from './labels.js'
import { processMetricsRegistry } from './process-metrics.js'
import { createRouterObserver } from './router-observer.js'
import '../call-record.js'

export interface GatewayMetrics {
  /** This app's anygate_* metrics (without the process metrics). */
  registry: Registry
  /** What a scrape answers: the anygate_* metrics, and the process metrics unless turned off. */
  scrape(): Promise<string>
  contentType: string
  /**
   * Where anygate_cache_bytes reads from at scrape time. The cache plugin registers before this one,
   * so it calls this from an onReady hook (`app.metrics?.cacheBytes(() => cache.bytes())`). Without
   * a call, an `app.responseCache.bytes()` is used when the cache plugin decorated one.
   */
  cacheBytes(source: () => number | null | Promise<number | null>): void
  /** For RedisGuard's `onFallback` option: counts a store call that got the on_error answer. */
  countStoreFallback(store: string, onError: OnStoreError): void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Absent when metrics.enabled is false. */
    metrics?: GatewayMetrics
  }
  interface FastifyContextConfig {
    /** false: the route's requests are not counted (the scrape route itself). */
    metrics?: boolean
  }
}

export interface MetricsPluginOptions {
  settings: MetricsSettings
  /** The public models: their names and targets are labels from the start. */
  models: readonly Pick<PublicModel, 'name' | 'targets'>[]
}

type Hooks<H> = H | H[] | undefined

function withHook<H>(existing: Hooks<H>, hook: H): H | H[] {
  if (existing === undefined) return hook
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook]
}

interface CacheWithSize {
  bytes(): number | null | Promise<number | null>
}

/** The cache plugin's `app.responseCache`, when it has a bytes() to read. */
function responseCacheOf(app: FastifyInstance): CacheWithSize | undefined {
  if (!app.hasDecorator('responseCache')) return undefined
  const cache = (app as unknown as { responseCache?: Partial<CacheWithSize> }).responseCache
  return typeof cache?.bytes === 'function' ? (cache as CacheWithSize) : undefined
}

export function createGatewayMetrics(settings: MetricsSettings, sources: LiveSources) {
  const registry = new Registry()
  const metrics = createMetricSet(registry, sources)
  const exposed = settings.default_metrics ? Registry.merge([registry, processMetricsRegistry()]) : registry
  const storeFallbacks = new Map<string, CounterCell>()
  const api: GatewayMetrics = {
    registry,
    scrape: () => exposed.metrics(),
    contentType: exposed.contentType,
    cacheBytes(source) {
      sources.cacheBytes = source
    },
    countStoreFallback(store, onError) {
      memo(storeFallbacks, `${store}\u0000${onError}`, () =>
        metrics.storeFallbacks.bind(store, onError),
      ).inc()
    },
  }
  return { metrics, api }
}

export default fp(
  async (app, opts: MetricsPluginOptions) => {
    const { settings } = opts
    const sources: LiveSources = {}
    const { metrics, api } = createGatewayMetrics(settings, sources)
    const models = new BoundedLabels(
      opts.models.map((m) => m.name),
      settings.max_model_labels,
    )
    const targets = new BoundedLabels(
      opts.models.flatMap((m) => m.targets.map((t) => targetId(t.provider, t.model))),
      settings.max_model_labels,
    )
    const recorder = new CallRecorder(metrics, models)
    app.decorate('metrics', api)
    app.stateStore.onFallback(api.countStoreFallback)

    app.addHook('onRoute', (route) => {
      if (route.config?.metrics === false) return
      const inference = route.config?.inference !== undefined
      const record = recorder.forRoute(route.url, inference)
      route.onResponse = withHook(route.onResponse, (request, reply, done) => {
        record(request, reply)
        done()
      })
      if (inference) {
        route.onError = withHook(route.onError, (_request, _reply, error, done) => {
          recorder.countError(error)
          done()
        })
      }
    })

    app.addHook('onReady', (done) => {
      if (app.hasDecorator('routerState')) {
        // routerState is the current runtime's (plugins/runtime), so it is read at each scrape; its
        // observers are one object across config reloads.
        app.routerState.observers.add(createRouterObserver(metrics, models, targets))
        sources.targets = {
          ids: () => app.routerState.targetIds(),
          circuitState: async (id) => (await app.routerState.breaker.snapshot(id)).state,
          inFlight: (id) => app.routerState.stats.inFlight(id),
        }
      }
      if (app.hasDecorator('runtime')) {
        // A reloaded config's names are labels from the start too, without taking admitted room.
        app.runtime.onSwap(({ config }) => {
          models.include(config.models.map((m) => m.name))
          targets.include(config.models.flatMap((m) => m.targets.map((t) => targetId(t.provider, t.model))))
        })
      }
      if (!sources.cacheBytes) {
        const cache = responseCacheOf(app)
        if (cache) sources.cacheBytes = () => cache.bytes()
      }
      done()
    })

    app.get(
      settings.path,
      {
        config: { auth: settings.auth, metrics: false },
        schema: {
          // Registered before @fastify/swagger (app.ts), which would not list it anyway; hidden
          // explicitly so moving the registration cannot put a text endpoint among the JSON API.
          hide: true,
          tags: ['Operator'],
          operationId: 'getMetrics',
          summary: 'Prometheus metrics in the text exposition format (0.0.4)',
          ...(settings.auth === 'none' ? { security: [] } : {}),
          response: {
            200: {
              description:
                'anygate_* metrics, and the process metrics unless metrics.default_metrics is false',
              content: { 'text/plain': { schema: Type.String() } },
            },
          },
        },
      },
      async (_request, reply) => {
        reply.type(api.contentType)
        return api.scrape()
      },
    )
  },
  {
    name: 'anygate-metrics',
    fastify: '5.x',
    // request.gateway (request-log) and config.auth (auth) must exist before the routes are counted.
    dependencies: ['anygate-request-log', 'anygate-auth'],
  },
)
