// A runtime's provider adapters, made by running the provider plugins (built-in or third-party,
// unchanged) in a small Fastify instance of their own instead of the app. A reload can then build a
// second set beside the live one, and close it on its own later: closing the instance runs the
// registry's closeAll and any onClose hook a plugin added, which is what frees the upstream pools.
import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { LoadedConfig } from '../../config/load.js'
import { providerPluginFor } from '../../providers/index.js'
import providerRegistry, { type ProviderRegistry } from '../provider-registry.js'

export interface ProviderSet {
  registry: ProviderRegistry
  /** Closes every adapter; resolves once their pools finished their last requests. */
  close(): Promise<void>
}

export async function buildProviderSet(config: LoadedConfig, log: FastifyBaseLogger): Promise<ProviderSet> {
  const host = Fastify({ loggerInstance: log })
  try {
    await host.register(providerRegistry)
    for (const provider of config.providers) {
      if (!provider.enabled) continue
      await host.register(await providerPluginFor(provider, config.baseDir), provider)
    }
    await host.ready()
  } catch (err) {
    await host.close().catch(() => {})
    throw err
  }
  return { registry: host.providers, close: () => host.close() }
}
