// Model names -> the group of targets that may serve them: a public model's configured targets, or
// the single target a `<provider>/<model>` or bare upstream name points at. Indexes are built once,
// so resolving a request is a Map lookup; picking among the targets is the router's job. One catalog
// per runtime (plugins/runtime): a config reload builds a new one over the new providers.
import type { LoadedConfig } from '../config/load.js'
import type { CapabilityOverrides, ModelTarget, PublicModel } from '../config/schema.js'
import type { Capabilities, ProviderAdapter } from '../providers/contract.js'
import type { Model } from '../schemas/openai/models.js'
import { GatewayError, modelNotFound } from './gateway-error.js'
import { globToRegExp, isGlob } from './glob.js'

export interface ResolvedModel {
  /** The name the client asked for. */
  requested: string
  provider: ProviderAdapter
  upstreamModel: string
  /** What the adapter declares for the model, with the config's overrides applied. */
  capabilities: Capabilities
}

/** A target of a group, resolved against the live providers. */
export interface GroupTarget {
  config: Pick<ModelTarget, 'provider' | 'model' | 'weight'> & Partial<ModelTarget>
  resolved: ResolvedModel
}

export interface ModelGroup {
  /** The name the client asked for. */
  name: string
  /** The public model's config; undefined for direct `<provider>/<model>` and bare names. */
  publicModel: PublicModel | undefined
  targets: GroupTarget[]
}

interface BareNameRule {
  pattern: RegExp
  provider: string
}

export class ModelCatalog {
  readonly #publicModels = new Map<string, PublicModel>()
  readonly #groups = new Map<string, ModelGroup>()
  readonly #providerOverrides = new Map<string, CapabilityOverrides>()
  readonly #bareNameRules: BareNameRule[] = []
  readonly #exactBareNames = new Map<string, string>()
  readonly #created = Math.floor(Date.now() / 1000)

  constructor(
    private readonly config: LoadedConfig,
    private readonly lookup: (name: string) => ProviderAdapter | undefined,
  ) {
    for (const model of config.models) this.#publicModels.set(model.name, model)
    for (const provider of config.providers) {
      if (!provider.enabled) continue
      if (provider.capabilities) this.#providerOverrides.set(provider.name, provider.capabilities)
      for (const name of provider.models) {
        if (isGlob(name)) this.#bareNameRules.push({ pattern: globToRegExp(name), provider: provider.name })
        else if (!this.#exactBareNames.has(name)) this.#exactBareNames.set(name, provider.name)
      }
    }
  }

  /** Every live target that may serve `requested`, in config order. */
  resolveGroup(requested: string): ModelGroup {
    const publicModel = this.#publicModels.get(requested)
    if (publicModel) {
      // Providers are fixed for a runtime's life: a public model's group is resolved once.
      const cached = this.#groups.get(requested)
      if (cached) return cached
      const targets: GroupTarget[] = []
      for (const target of publicModel.targets) {
        const provider = this.lookup(target.provider)
        if (provider) {
          targets.push({
            config: target,
            resolved: this.#resolved(requested, provider, target.model, target.capabilities),
          })
        }
      }
      if (targets.length > 0) {
        const group = { name: requested, publicModel, targets }
        this.#groups.set(requested, group)
        return group
      }
      const names = publicModel.targets.map((t) => t.provider).join(', ')
      throw new GatewayError(
        404,
        `The model \`${requested}\` is configured, but none of its providers (${names}) is enabled.`,
        'invalid_request_error',
        'model_not_found',
        'model',
      )
    }
    const resolved = this.#resolveDirect(requested)
    const config = { provider: resolved.provider.name, model: resolved.upstreamModel, weight: 1 }
    return { name: requested, publicModel: undefined, targets: [{ config, resolved }] }
  }

  /** The target that would serve `requested` first (the first in config order for a public model). */
  resolve(requested: string): ResolvedModel {
    return this.resolveGroup(requested).targets[0]!.resolved
  }

  #resolveDirect(requested: string): ResolvedModel {
    const slash = requested.indexOf('/')
    if (slash > 0) {
      const provider = this.lookup(requested.slice(0, slash))
      const upstreamModel = requested.slice(slash + 1)
      if (provider && upstreamModel) return this.#resolved(requested, provider, upstreamModel)
    }
    const exact = this.#exactBareNames.get(requested)
    const rule = exact ?? this.#bareNameRules.find((r) => r.pattern.test(requested))?.provider
    const provider = rule ? this.lookup(rule) : undefined
    if (provider) return this.#resolved(requested, provider, requested)
    throw modelNotFound(requested)
  }

  #resolved(
    requested: string,
    provider: ProviderAdapter,
    upstreamModel: string,
    targetOverrides?: CapabilityOverrides,
  ): ResolvedModel {
    const capabilities = {
      ...provider.capabilities(upstreamModel),
      ...this.#providerOverrides.get(provider.name),
      ...targetOverrides,
    }
    return { requested, provider, upstreamModel, capabilities }
  }

  list(): Model[] {
    const seen = new Set<string>()
    const models: Model[] = []
    const add = (id: string) => {
      if (seen.has(id)) return
      seen.add(id)
      models.push(this.#describe(this.resolve(id)))
    }
    for (const [name, model] of this.#publicModels) {
      if (model.targets.some((t) => this.lookup(t.provider))) add(name)
    }
    for (const [name, provider] of this.#exactBareNames) if (this.lookup(provider)) add(name)
    for (const provider of this.config.providers) {
      const adapter = this.lookup(provider.name)
      if (!adapter) continue
      for (const id of adapter.listModels()) add(`${provider.name}/${id}`)
    }
    return models
  }

  get(id: string): Model {
    return this.#describe(this.resolve(id))
  }

  /** The OpenAI model object, with the capabilities as an extension field. */
  #describe(resolved: ResolvedModel): Model {
    return {
      id: resolved.requested,
      object: 'model',
      created: this.#created,
      owned_by: resolved.provider.name,
      capabilities: resolved.capabilities,
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The current runtime's catalog (plugins/runtime): a new one after each config reload. */
    models: ModelCatalog
  }
}
