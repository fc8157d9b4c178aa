// The router plugin: one Router per app, between the routes and the provider registry. Breakers,
// latency and in-flight counts live here (per process; a shared breaker store plugs in later).
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { indexFallbacks } from './fallback-chain.js'
import { LatencyTracker } from './latency.js'
import { Router } from './router.js'
import { RoundRobinCursors } from './strategies.js'
import { TargetStatsRegistry } from './target-stats.js'
import { targetId } from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    router: Router
    routerState: { breaker: CircuitBreaker; stats: TargetStatsRegistry; targetIds: () => string[] }
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
    const breaker = new CircuitBreaker({
      settings: settings.circuit_breaker,
      now,
      onTransition: (t) =>
        app.log.warn({ target: t.targetId, from: t.from, to: t.to, reason: t.reason }, 'circuit breaker'),
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
    })
    const configured = opts.config.models.flatMap((m) => m.targets.map((t) => targetId(t.provider, t.model)))
    app.decorate('router', router)
    app.decorate('routerState', { breaker, stats, targetIds: () => [...new Set(configured)] })
  },
  { name: 'anygate-router', fastify: '5.x', dependencies: ['anygate-model-catalog'] },
)
