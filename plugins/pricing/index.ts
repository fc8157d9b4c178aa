// app.pricing: the price table, built once at startup. The spend plugin costs every call with it;
// the router's lowest-cost strategy can take `app.pricing.priceFor` for targets without a `price`.
import fp from 'fastify-plugin'
import type { PricingSettings } from './config-schema.js'
import { loadPriceLayers } from './load.js'
import { PriceTable } from './table.js'

declare module 'fastify' {
  interface FastifyInstance {
    pricing: PriceTable
  }
}

export interface PricingPluginOptions {
  settings: PricingSettings
  /** The config file's folder: a relative `pricing.file` is read from there. */
  baseDir: string
  /** Every configured provider's name and type, so `<type>/<model>` keys apply to it. */
  providers: readonly { name: string; type?: string }[]
}

export function createPriceTable(options: PricingPluginOptions): PriceTable {
  const types = new Map<string, string>()
  for (const provider of options.providers) if (provider.type) types.set(provider.name, provider.type)
  return new PriceTable(loadPriceLayers(options.settings, options.baseDir), types)
}

export default fp(
  async (app, opts: PricingPluginOptions) => {
    app.decorate('pricing', createPriceTable(opts))
  },
  { name: 'anygate-pricing', fastify: '5.x' },
)
