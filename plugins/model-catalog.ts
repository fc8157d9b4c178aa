// Public model names -> (provider adapter, upstream model). Indexes are built once when the app is
// ready, so resolving a request is a Map lookup.
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../config/load.js'
import type { ProviderAdapter } from '../providers/contract.js'
import type { Model } from '../schemas/openai/models.js'
import { GatewayError, modelNotFound } from './gateway-error.js'
import { globToRegExp, isGlob } from './glob.js'

export interface ResolvedModel {
  /** The name the client asked for. */
  requested: string
  provider: ProviderAdapter
  upstreamModel: string
}

interface BareNameRule {
  pattern: RegExp
  provider: string
}

export class ModelCatalog {
  readonly #publicModels = new Map<string, { provider: string; model: string }[]>()
  readonly #bareNameRules: BareNameRule[] = []
  readonly #exactBareNames = new Map<string, string>()
  readonly #created = Math.floor(Date.now() / 1000)

  constructor(
    private readonly config: LoadedConfig,
    private readonly lookup: (name: string) => ProviderAdapter | undefined,
  ) {
    for (const model of config.models) this.#publicModels.set(model.name, model.targets)
    for (const provider of config.providers) {
      if (!provider.enabled) continue
      for (const name of provider.models) {
        if (isGlob(name)) this.#bareNameRules.push({ pattern: globToRegExp(name), provider: provider.name })
        else if (!this.#exactBareNames.has(name)) this.#exactBareNames.set(name, provider.name)
      }
    }
  }

  resolve(requested: string): ResolvedModel {
    const targets = this.#publicModels.get(requested)
    if (targets) {
      // Routing across targets comes with the router; until then the first live target serves.
      for (const target of targets) {
        const provider = this.lookup(target.provider)
        if (provider) return { requested, provider, upstreamModel: target.model }
      }
      const names = targets.map((t) => t.provider).join(', ')
      throw new GatewayError(
        404,
        `The model \`${requested}\` is configured, but none of its providers (${names}) is enabled.`,
        'invalid_request_error',
        'model_not_found',
        'model',
      )
    }
    const slash = requested.indexOf('/')
    if (slash > 0) {
      const provider = this.lookup(requested.slice(0, slash))
      const upstreamModel = requested.slice(slash + 1)
      if (provider && upstreamModel) return { requested, provider, upstreamModel }
    }
    const exact = this.#exactBareNames.get(requested)
    const rule = exact ?? this.#bareNameRules.find((r) => r.pattern.test(requested))?.provider
    const provider = rule ? this.lookup(rule) : undefined
    if (provider) return { requested, provider, upstreamModel: requested }
    throw modelNotFound(requested)
  }

  list(): Model[] {
    const seen = new Set<string>()
    const models: Model[] = []
    const add = (id: string, owner: string) => {
      if (seen.has(id)) return
      seen.add(id)
      models.push({ id, object: 'model', created: this.#created, owned_by: owner })
    }
    for (const [name, targets] of this.#publicModels) {
      const live = targets.find((t) => this.lookup(t.provider))
      if (live) add(name, live.provider)
    }
    for (const [name, provider] of this.#exactBareNames) if (this.lookup(provider)) add(name, provider)
    for (const provider of this.config.providers) {
      const adapter = this.lookup(provider.name)
      if (!adapter) continue
      for (const id of adapter.listModels()) add(`${provider.name}/${id}`, provider.name)
    }
    return models
  }

  get(id: string): Model {
    const listed = this.list().find((m) => m.id === id)
    if (listed) return listed
    const resolved = this.resolve(id)
    return { id, object: 'model', created: this.#created, owned_by: resolved.provider.name }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    models: ModelCatalog
  }
}

export default fp(
  async (app, opts: { config: LoadedConfig }) => {
    app.decorate('models', new ModelCatalog(opts.config, (name) => app.providers.get(name)))
  },
  { name: 'anygate-model-catalog', fastify: '5.x', dependencies: ['anygate-provider-registry'] },
)
