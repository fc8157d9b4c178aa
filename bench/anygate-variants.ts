// The AnyGate configs the bench compares, as raw config documents (what a YAML file would hold).
// Each variant differs from `default` only in the plugins it turns on or off, so the difference
// between two variants' latencies is the price of those plugins. Pure: secrets come in as arguments.
import { benchModel, upstreamModel } from './chat-payloads.js'

export const anygateVariants = ['default', 'bare', 'stack-memory', 'stack-redis', 'cache'] as const
export type AnyGateVariant = (typeof anygateVariants)[number]

/** What a stack variant needs beyond the upstream: the keys, and Redis for stack-redis. */
export interface VariantSecrets {
  masterKey: string
  /** The virtual key the load generator sends; it carries every per-key limit. */
  clientKey: string
}

export interface RedisPlace {
  url: string
  /** Unique per bench run, so its keys can be found and deleted afterwards. */
  keyPrefix: string
}

export interface VariantInput {
  variant: AnyGateVariant
  upstreamOrigin: string
  /** Targets of the public model (default 1); see AnyGateOptions.targets. */
  targets?: number
  /** providers.<name>.max_connections of every provider (default: the config default, 256). */
  upstreamConnections?: number
  secrets?: VariantSecrets
  redis?: RedisPlace
}

/** Per-key limits far above what the bench sends, so they are checked on every call yet never refuse. */
export const stackKeyLimits = {
  rpm: 10_000_000,
  tpm: 1_000_000_000,
  max_parallel: 10_000,
  budget: { amount_usd: 1_000_000, period: 'total' },
} as const

/** Likewise for the deployment-wide limit: the global_rpm counter runs on every call. */
export const stackGlobalRpm = 10_000_000

function groupOf(upstreamOrigin: string, count: number, connections: number | undefined) {
  const base_url = `${upstreamOrigin}/v1`
  const provider = { type: 'openai', base_url, ...(connections ? { max_connections: connections } : {}) }
  if (count === 1) {
    return {
      providers: { bench: provider },
      targets: [{ provider: 'bench', model: upstreamModel }],
    }
  }
  const names = Array.from({ length: count }, (_, i) => `bench-${i + 1}`)
  return {
    providers: Object.fromEntries(names.map((name) => [name, provider])),
    targets: names.map((provider, i) => ({ provider, model: upstreamModel, weight: count - i })),
  }
}

function stackSections(input: VariantInput): Record<string, unknown> {
  if (!input.secrets) throw new Error(`anygate variant ${input.variant} needs a master key and a client key`)
  const sections: Record<string, unknown> = {
    auth: {
      master_key: input.secrets.masterKey,
      keys: [{ name: 'bench-client', key: input.secrets.clientKey, ...stackKeyLimits }],
    },
    limits: { global_rpm: stackGlobalRpm },
    // A price makes the budget real: every call reserves its estimated cost and settles the actual one.
    pricing: { models: { [upstreamModel]: { input: 1, output: 2 } } },
  }
  if (input.variant === 'stack-redis') {
    if (!input.redis) throw new Error('anygate variant stack-redis needs a Redis url and key prefix')
    // deny: should Redis fail mid-run, calls fail and are counted, rather than silently measuring
    // the in-process fallback under the Redis label.
    sections.store = {
      type: 'redis',
      url: input.redis.url,
      key_prefix: input.redis.keyPrefix,
      on_error: 'deny',
    }
  }
  return sections
}

function variantSections(input: VariantInput): Record<string, unknown> {
  switch (input.variant) {
    case 'default':
      return {}
    case 'bare':
      return { metrics: { enabled: false } }
    case 'stack-memory':
    case 'stack-redis':
      return stackSections(input)
    case 'cache':
      return { cache: { enabled: true, backend: 'memory' } }
  }
}

/** The config document for one variant; parse it with config/load.ts's parseConfig. */
export function variantDocument(input: VariantInput): Record<string, unknown> {
  const { providers, targets } = groupOf(input.upstreamOrigin, input.targets ?? 1, input.upstreamConnections)
  return {
    server: { host: '127.0.0.1', port: 0, log_level: 'silent' },
    providers,
    models: [{ name: benchModel, strategy: 'weighted', targets }],
    ...variantSections(input),
  }
}
