// The live provider adapters, keyed by the provider's config name. Provider plugins add to it; routes
// read it (app.providers, the current runtime's) and never import a provider. Each runtime registers
// this plugin in a Fastify instance of its own (plugins/runtime/provider-set.ts), so a config reload
// builds a second registry beside the live one and closes the old one's pools when it is done.
import fp from 'fastify-plugin'
import type { ProviderAdapter } from '../providers/contract.js'

export class ProviderRegistry {
  readonly #adapters = new Map<string, ProviderAdapter>()

  add(name: string, adapter: ProviderAdapter): void {
    if (this.#adapters.has(name)) throw new Error(`provider "${name}" is registered twice`)
    this.#adapters.set(name, adapter)
  }

  get(name: string): ProviderAdapter | undefined {
    return this.#adapters.get(name)
  }

  names(): string[] {
    return [...this.#adapters.keys()]
  }

  list(): ProviderAdapter[] {
    return [...this.#adapters.values()]
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.list().map((adapter) => adapter.close?.()))
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** In the app: the current runtime's registry. In a runtime's provider instance: its own. */
    providers: ProviderRegistry
  }
}

export default fp(
  async (app) => {
    const registry = new ProviderRegistry()
    app.decorate('providers', registry)
    app.addHook('onClose', () => registry.closeAll())
  },
  { name: 'anygate-provider-registry', fastify: '5.x' },
)
