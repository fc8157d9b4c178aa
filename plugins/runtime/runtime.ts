// A runtime: everything one config's providers, models and routing make, built as a unit so a reload
// can build the next one beside it and swap the two at once. Calls keep the runtime they started on
// to their end (holder.ts counts them); its pools close after the last one.
import type { FastifyBaseLogger } from 'fastify'
import type { LoadedConfig } from '../../config/load.js'
import { ModelCatalog } from '../model-catalog.js'
import type { PriceTable } from '../pricing/table.js'
import type { ProviderRegistry } from '../provider-registry.js'
import { createRouting, type RouterShared, type RouterState } from '../router/index.js'
import type { Router } from '../router/router.js'
import { buildProviderSet } from './provider-set.js'

export interface Runtime {
  /** 1 for the config the app started with, then one more per swap. */
  readonly generation: number
  /** What it was built from: the file's config, with any provider an operator enabled. */
  readonly config: LoadedConfig
  readonly builtAt: Date
  readonly providers: ProviderRegistry
  readonly models: ModelCatalog
  readonly router: Router
  readonly routerState: RouterState
  readonly pricing: PriceTable
  /** Starts the health-check probes (once the app is ready, and only while current). */
  startProbes(): void
  stopProbes(): Promise<void>
  /** Stops the probes and closes the providers; waits for their pools' last requests. */
  close(): Promise<void>
}

export interface RuntimeDeps {
  shared: RouterShared
  log: FastifyBaseLogger
  /** The price table for this config (pricing section, provider types, the pricing file). */
  pricingFor(config: LoadedConfig): PriceTable
  isProviderDisabled(provider: string): boolean
}

export async function buildRuntime(
  config: LoadedConfig,
  generation: number,
  deps: RuntimeDeps,
): Promise<Runtime> {
  const providerSet = await buildProviderSet(config, deps.log)
  try {
    const providers = providerSet.registry
    const models = new ModelCatalog(config, (name) => providers.get(name))
    const pricing = deps.pricingFor(config)
    const routing = createRouting({
      config,
      providers,
      catalog: models,
      shared: deps.shared,
      log: deps.log,
      priceFor: pricing.priceFor,
      isProviderDisabled: deps.isProviderDisabled,
    })
    const stopProbes = () => routing.healthChecks.stop()
    return {
      generation,
      config,
      builtAt: new Date(),
      providers,
      models,
      router: routing.router,
      routerState: routing.state,
      pricing,
      startProbes: () => routing.healthChecks.start(),
      stopProbes,
      async close() {
        await stopProbes()
        await providerSet.close()
      },
    }
  } catch (err) {
    await providerSet.close()
    throw err
  }
}
