// The router's wiring, in two parts. What outlives a config reload is made once per app
// (createRouterShared): the breaker records in the state store, in-flight counts and latency, the
// target rpm windows, the round-robin cursors and the observers metrics and tracing subscribed to.
// What a config decides is made per runtime (createRouting, called by plugins/runtime): the breaker
// policy, the Router over that runtime's catalog, the fallback index and the health checks. With a
// Redis store every replica sees a breaker another one opened; in-flight and latency are per process.
import type { FastifyBaseLogger } from 'fastify'
import type { LoadedConfig } from '../../config/load.js'
import type { ModelCatalog } from '../model-catalog.js'
import type { ProviderRegistry } from '../provider-registry.js'
import type { StateStore } from '../store/index.js'
import { RedisBreakerStore } from '../store/redis-breaker-store.js'
import { type BreakerStateStore, MemoryBreakerStore } from './breaker-store.js'
import { CircuitBreaker } from './circuit-breaker.js'
import type { RoutingSettings, TargetPrice } from './config-schema.js'
import { RouterObservers } from './events.js'
import { indexFallbacks } from './fallback-chain.js'
import { HealthChecks, probeTargets } from './health-checks.js'
import { LatencyTracker } from './latency.js'
import { servedModels, unavailableModels } from './readiness.js'
import { Router } from './router.js'
import { RoundRobinCursors } from './strategies.js'
import { MemoryTargetRpmWindow, RedisTargetRpmWindow, type TargetRpmWindow } from './target-rpm.js'
import { TargetStatsRegistry } from './target-stats.js'
import { targetId } from './types.js'

export interface RouterState {
  breaker: CircuitBreaker
  stats: TargetStatsRegistry
  targetIds: () => string[]
  /** Subscribe to routing decisions, attempts, fallbacks and breaker transitions. */
  observers: RouterObservers
  /** Served public models with no usable target, for GET /health/ready. */
  unavailableModels: () => Promise<string[]>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Routes each call on the runtime current when the call starts (plugins/runtime). */
    router: Pick<Router, 'route'>
    /** The current runtime's breaker, stats and targets; `observers` is the same object across reloads. */
    routerState: RouterState
  }
}

export interface RouterClock {
  /** Injected by tests that drive breakers and staleness without waiting. */
  now?: () => number
  rng?: () => number
}

/** The routing state that survives a reload. */
export interface RouterShared {
  breakerStore: BreakerStateStore
  observers: RouterObservers
  cursors: RoundRobinCursors
  rpm: TargetRpmWindow
  /** In-flight counts and latency; a new registry only when the latency settings change. */
  statsFor(settings: RoutingSettings): TargetStatsRegistry
  now: () => number
  rng: () => number
}

export function createRouterShared(
  store: Pick<StateStore, 'redis' | 'keyPrefix' | 'onError'>,
  log: FastifyBaseLogger,
  clock: RouterClock = {},
): RouterShared {
  const now = clock.now ?? Date.now
  const { redis, keyPrefix, onError } = store
  let stats: { key: string; registry: TargetStatsRegistry } | undefined
  return {
    breakerStore: redis
      ? new RedisBreakerStore({ client: redis, keyPrefix, onError, now, log })
      : new MemoryBreakerStore(),
    observers: new RouterObservers(),
    cursors: new RoundRobinCursors(),
    rpm: redis
      ? new RedisTargetRpmWindow({ client: redis, keyPrefix, onError, now, log })
      : new MemoryTargetRpmWindow(now),
    statsFor(settings) {
      const key = `${settings.latency_alpha}/${settings.latency_stale_s}`
      if (stats?.key !== key) {
        const latency = new LatencyTracker({
          alpha: settings.latency_alpha,
          staleAfterMs: settings.latency_stale_s * 1000,
          now,
        })
        stats = { key, registry: new TargetStatsRegistry({ latency, now }) }
      }
      return stats.registry
    },
    now,
    rng: clock.rng ?? Math.random,
  }
}

export interface RoutingInput {
  config: LoadedConfig
  providers: ProviderRegistry
  catalog: ModelCatalog
  shared: RouterShared
  log: FastifyBaseLogger
  /** Prices from the pricing table, for lowest-cost targets without a configured price. */
  priceFor?: (provider: string, upstreamModel: string) => TargetPrice | undefined
  isProviderDisabled?: (provider: string) => boolean
}

export interface Routing {
  router: Router
  state: RouterState
  /** Probes run only while their runtime is the current one. */
  healthChecks: HealthChecks
}

/** One runtime's router, over its catalog and providers, with the shared state underneath. */
export function createRouting(input: RoutingInput): Routing {
  const { config, shared, log } = input
  const settings = config.routing
  const { now, rng, observers } = shared
  // A breaker per runtime for the policy (circuit_breaker settings); the records stay in the shared
  // store, so a target that exists before and after a reload keeps its state.
  const breaker = new CircuitBreaker({
    settings: settings.circuit_breaker,
    store: shared.breakerStore,
    now,
    onTransition: (t) => {
      log.warn({ target: t.targetId, from: t.from, to: t.to, reason: t.reason }, 'circuit breaker')
      observers.breaker(t)
    },
  })
  const stats = shared.statsFor(settings)
  const router = new Router({
    catalog: input.catalog,
    settings,
    fallbacks: indexFallbacks(config.models),
    breaker,
    stats,
    cursors: shared.cursors,
    rng,
    now,
    observers,
    priceFor: input.priceFor,
    isProviderDisabled: input.isProviderDisabled,
    rpm: shared.rpm,
  })
  const configured = [
    ...new Set(config.models.flatMap((m) => m.targets.map((t) => targetId(t.provider, t.model)))),
  ]
  const served = servedModels(config.models, (name) => input.providers.get(name) !== undefined)
  const healthChecks = new HealthChecks({
    targets: probeTargets(config, (name) => input.providers.get(name)),
    breaker,
    stats,
    log: log.child({ component: 'health-check' }),
    now,
    rng,
  })
  return {
    router,
    state: {
      breaker,
      stats,
      observers,
      targetIds: () => [...configured],
      unavailableModels: () => unavailableModels(served, (id) => breaker.isOpen(id)),
    },
    healthChecks,
  }
}
