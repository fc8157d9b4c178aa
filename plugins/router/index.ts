// The router plugin: one Router per app, between the routes and the provider registry. Latency and
// in-flight counts are per process; breaker records live in the state store, so with a Redis store
// every replica sees a breaker another one opened.
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import { RedisBreakerStore } from '../store/redis-breaker-store.js'
import { MemoryBreakerStore } from './breaker-store.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { RouterObservers } from './events.js'
import { indexFallbacks } from './fallback-chain.js'
import { HealthChecks, probeTargets } from './health-checks.js'
import { LatencyTracker } from './latency.js'
import { servedModels, unavailableModels } from './readiness.js'
import { Router } from './router.js'
import { RoundRobinCursors } from './strategies.js'
import { MemoryTargetRpmWindow, RedisTargetRpmWindow } from './target-rpm.js'
import { TargetStatsRegistry } from './target-stats.js'
import { targetId } from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    router: Router
    routerState: {
      breaker: CircuitBreaker
      stats: TargetStatsRegistry
      targetIds: () => string[]
      /** Subscribe to routing decisions, attempts, fallbacks and breaker transitions. */
      observers: RouterObservers
      /** Served public models with no usable target, for GET /health/ready. */
      unavailableModels: () => Promise<string[]>
    }
  }
}

export interface RouterPluginOptions {
  config: LoadedConfig
  /** Injected by tests that drive breakers and staleness without waiting. */
  now?: () => number
  rng?: () => number
}

export default fp(
  async (app, opts: RouterPluginOptions) => {
    const settings = opts.config.routing
    const now = opts.now ?? Date.now
    const { redis, keyPrefix, onError } = app.stateStore
    const store = redis
      ? new RedisBreakerStore({ client: redis, keyPrefix, onError, now, log: app.log })
      : new MemoryBreakerStore()
    const observers = new RouterObservers()
    const breaker = new CircuitBreaker({
      settings: settings.circuit_breaker,
      store,
      now,
      onTransition: (t) => {
        app.log.warn({ target: t.targetId, from: t.from, to: t.to, reason: t.reason }, 'circuit breaker')
        observers.breaker(t)
      },
    })
    const latency = new LatencyTracker({
      alpha: settings.latency_alpha,
      staleAfterMs: settings.latency_stale_s * 1000,
      now,
    })
    const stats = new TargetStatsRegistry({ latency, now })
    const router = new Router({
      catalog: app.models,
      settings,
      fallbacks: indexFallbacks(opts.config.models),
      breaker,
      stats,
      cursors: new RoundRobinCursors(),
      rng: opts.rng ?? Math.random,
      now,
      observers,
      // Registered before the router by the spend plugin; lowest-cost falls back to it for prices.
      priceFor: app.hasDecorator('pricing') ? app.pricing.priceFor : undefined,
      rpm: redis
        ? new RedisTargetRpmWindow({ client: redis, keyPrefix, onError, now, log: app.log })
        : new MemoryTargetRpmWindow(now),
    })
    const configured = opts.config.models.flatMap((m) => m.targets.map((t) => targetId(t.provider, t.model)))
    app.decorate('router', router)
    const served = servedModels(opts.config.models, (name) => app.providers.get(name) !== undefined)
    app.decorate('routerState', {
      breaker,
      stats,
      observers,
      targetIds: () => [...new Set(configured)],
      unavailableModels: () => unavailableModels(served, (id) => breaker.isOpen(id)),
    })
    // Probes start once the app is ready (not while a test or the CLI merely builds it) and stop
    // before the providers' pools and the store's client close (onClose runs in reverse order).
    const healthChecks = new HealthChecks({
      targets: probeTargets(opts.config, (name) => app.providers.get(name)),
      breaker,
      stats,
      log: app.log.child({ component: 'health-check' }),
      now,
      rng: opts.rng ?? Math.random,
    })
    app.addHook('onReady', async () => healthChecks.start())
    app.addHook('onClose', () => healthChecks.stop())
  },
  { name: 'anygate-router', fastify: '5.x', dependencies: ['anygate-model-catalog', 'anygate-store'] },
)
