// Cost, spend and budgets around every inference call (the hooks are in call-hooks.ts):
// - preHandler (inference routes only, after the cache's: a hit never gets here): a key with a
//   budget reserves what the call may cost, or is refused with 429 budget_exceeded;
// - onResponse (for a stream, after its last byte): request.gateway.costUsd is set synchronously,
//   before any await, so the metrics plugin registered after this one reads it in its own
//   onResponse; then, in the background, the spend record and the budget settlement.
// Decorates app.pricing (plugins/pricing/) and app.spend (the spend store, budget status, flush).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import type { GatewayContext } from '../call-record.js'
import type { ModelCatalog } from '../model-catalog.js'
import pricingPlugin from '../pricing/index.js'
import type { ModelPrice, PriceTable } from '../pricing/table.js'
import type { Principal } from '../principal.js'
import { followRuntime } from '../runtime/follow.js'
import { AlertNotifier } from './alerts.js'
import { MemoryBudgetStore } from './budget-store.js'
import { type BudgetStatus, Budgets } from './budgets.js'
import { createCallHooks } from './call-hooks.js'
import { SpendRecorder } from './recorder.js'
import { RedisBudgetStore } from './redis-budget-store.js'
import { RedisSpendStore } from './redis-spend-store.js'
import { MemorySpendStore, type SpendStore } from './spend-store.js'

export interface SpendService {
  store: SpendStore
  /** The clock spend days and budget periods are read from. */
  now: () => number
  /** The principal's budget in its current period; null without a budget. */
  budgetStatus(principal: Principal): Promise<BudgetStatus | null>
  /** Resolves once every spend write, settlement and alert started so far is done (tests, shutdown). */
  flush(): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    spend: SpendService
  }
}

export interface SpendPluginOptions {
  config: LoadedConfig
  /** Wall-clock ms for spend days and budget periods; tests move it across day and month ends. */
  now?: () => number
  /** Waits between attempts of background writes and alert deliveries; tests shorten them. */
  retryDelaysMs?: readonly number[]
  alertRetryDelaysMs?: readonly number[]
}

const targetKey = (publicModel: string, provider: string, upstreamModel: string) =>
  `${publicModel}\u0000${provider}/${upstreamModel}`

/** Each public model target's own `price`, found by the model, provider and upstream id a call names. */
function indexTargetPrices(config: LoadedConfig): Map<string, ModelPrice> {
  const prices = new Map<string, ModelPrice>()
  for (const model of config.models) {
    for (const target of model.targets) {
      if (target.price) prices.set(targetKey(model.name, target.provider, target.model), target.price)
    }
  }
  return prices
}

/** The price of the target that served a call; warns once per unpriced model, not once per call. */
function createServedPricer(pricing: PriceTable, config: LoadedConfig, app: FastifyInstance) {
  const targetPrices = indexTargetPrices(config)
  const unpriced = new Set<string>()
  // The table's answer per provider and upstream model, found through the strings the call holds
  // rather than a key string built and hashed per call; `warned`: the unpriced check below ran.
  // Bounded like the table's own memo: clients can name arbitrary `<provider>/<model>` ids.
  const seen = new Map<string, Map<string, { price: ModelPrice | undefined; warned: boolean }>>()
  let seenCount = 0
  const tableEntry = (provider: string, upstreamModel: string) => {
    let byModel = seen.get(provider)
    let entry = byModel?.get(upstreamModel)
    if (entry) return entry
    if (seenCount >= 2000) {
      seen.clear()
      seenCount = 0
      byModel = undefined
    }
    if (!byModel) {
      byModel = new Map()
      seen.set(provider, byModel)
    }
    entry = { price: pricing.priceFor(provider, upstreamModel), warned: false }
    byModel.set(upstreamModel, entry)
    seenCount++
    return entry
  }
  return (gateway: GatewayContext): ModelPrice | undefined => {
    const override =
      targetPrices.size > 0
        ? targetPrices.get(targetKey(gateway.model, gateway.provider, gateway.upstreamModel))
        : undefined
    if (override) return override
    const entry = tableEntry(gateway.provider, gateway.upstreamModel)
    const price = entry.price
    if (!price && gateway.cache !== 'HIT' && !entry.warned) {
      entry.warned = true
      const id = `${gateway.provider}/${gateway.upstreamModel}`
      if (!unpriced.has(id) && unpriced.size < 1000) {
        unpriced.add(id)
        app.log.warn(
          { provider: gateway.provider, upstream_model: gateway.upstreamModel },
          `no price for ${id}: its calls are recorded without cost and not counted against budgets. Add it to pricing.models or set the target's price.`,
        )
      }
    }
    return price
  }
}

/** The prices of every target that may serve `model`, memoized for public models (a fixed set). */
function createGroupPricer(pricing: PriceTable, catalog: Pick<ModelCatalog, 'resolveGroup'>) {
  const publicModels = new Map<string, (ModelPrice | undefined)[]>()
  return (model: string): (ModelPrice | undefined)[] => {
    const known = publicModels.get(model)
    if (known) return known
    let group: ReturnType<ModelCatalog['resolveGroup']>
    try {
      group = catalog.resolveGroup(model)
    } catch {
      // An unknown model: the route answers its 404 itself, nothing to reserve for.
      return []
    }
    const prices = group.targets.map((target) =>
      pricing.priceFor(target.resolved.provider.name, target.resolved.upstreamModel, target.config.price),
    )
    if (group.publicModel) publicModels.set(model, prices)
    return prices
  }
}

export default fp(
  async (app, opts: SpendPluginOptions) => {
    const { config } = opts
    const now = opts.now ?? Date.now
    await app.register(pricingPlugin, {
      settings: config.pricing,
      baseDir: config.baseDir,
      providers: config.providers,
    })
    const { redis, keyPrefix } = app.stateStore
    const retentionDays = config.spend.retention_days
    const spendStore: SpendStore = redis
      ? new RedisSpendStore({ client: redis, keyPrefix, retentionDays })
      : new MemorySpendStore({ retentionDays, now })
    const budgetStore = redis
      ? new RedisBudgetStore({ client: redis, keyPrefix })
      : new MemoryBudgetStore(now)
    const log = app.log.child({ component: 'spend' })
    const recorder = new SpendRecorder({ store: spendStore, log, now, retryDelaysMs: opts.retryDelaysMs })
    const settings = config.budgets
    const alerts = settings.alert_webhook
      ? new AlertNotifier({
          url: settings.alert_webhook,
          headers: settings.alert_headers,
          thresholds: settings.thresholds,
          store: budgetStore,
          log,
          retryDelaysMs: opts.alertRetryDelaysMs,
        })
      : undefined
    const budgets = new Budgets({
      store: budgetStore,
      guard: app.stateStore.guard('budget', log),
      now,
      log,
      reservationTtlMs: settings.reservation_ttl_s * 1000,
      alerts,
      retryDelaysMs: opts.retryDelaysMs,
    })
    const settlements = new Set<Promise<void>>()

    app.decorate('spend', {
      store: spendStore,
      now,
      budgetStatus: (principal: Principal) => budgets.status(principal),
      flush: async () => {
        await Promise.allSettled([...settlements])
        await recorder.flush()
        await alerts?.idle()
      },
    } satisfies SpendService)
    app.decorateRequest('budgetHold', null)
    app.decorateRequest('spendAccounted', false)

    // A reload (plugins/runtime) brings new models, targets and prices: the pricers follow the
    // running config, rebuilt on the first call after a swap.
    const pricers = followRuntime(app, (runtime) => ({
      served: createServedPricer(runtime.pricing, runtime.config, app),
      group: createGroupPricer(runtime.pricing, runtime.models),
    }))
    const hooks = createCallHooks({
      budgets,
      recorder,
      priceServed: (gateway) => pricers().served(gateway),
      pricesOfModel: (model) => pricers().group(model),
      defaultOutputTokens: settings.default_output_tokens,
      settlements,
    })
    // Route-level, so it runs after every app-wide preHandler (the cache's lookup among them).
    app.addHook('onRoute', (route) => {
      if (!route.config?.inference) return
      const existing = route.preHandler
      route.preHandler =
        existing === undefined ? [hooks.preHandler] : [...[existing].flat(), hooks.preHandler]
    })
    // App-wide and registered before the metrics plugin, so costUsd is set when its hook runs.
    app.addHook('onResponse', hooks.onResponse)

    // Before the store's client closes (onClose runs in reverse registration order).
    app.addHook('onClose', async () => {
      await Promise.allSettled([...settlements])
      await recorder.flush()
      await alerts?.close()
    })
  },
  {
    name: 'anygate-spend',
    fastify: '5.x',
    dependencies: ['anygate-store', 'anygate-request-log', 'anygate-auth'],
  },
)
