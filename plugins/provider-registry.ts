// Decorates the app with the live provider adapters, keyed by the provider's config name.
// Provider plugins add to it; routes read from it and never import a provider.
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
