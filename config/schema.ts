// The config file's schema: validation, TypeScript type and the documented defaults in one place.
// Objects are closed (additionalProperties: false) so a misspelt key is an error, not a silent no-op.
import { type Static, Type } from '@sinclair/typebox'
import { CacheSettings, ModelCacheSettings } from '../plugins/cache/config-schema.js'
import { AuthSettings } from '../plugins/keys/config-schema.js'
import { LimitsSettings } from '../plugins/limits/config-schema.js'
import { MetricsSettings } from '../plugins/metrics/config-schema.js'
import { PricingSettings } from '../plugins/pricing/config-schema.js'
import {
  HealthCheckSettings,
  modelRoutingFields,
  RoutingSettings,
  targetRoutingFields,
} from '../plugins/router/config-schema.js'
import { BudgetSettings, SpendSettings } from '../plugins/spend/config-schema.js'
import { TelemetrySettings } from '../plugins/tracing/config-schema.js'
import { LoggingSettings } from '../plugins/usage-log/config-schema.js'

const Url = Type.String({ format: 'uri', description: 'must be a URL' })
const Millis = (defaultValue: number, description: string) =>
  Type.Integer({ minimum: 1, default: defaultValue, description })

export const ProviderTypes = ['openai', 'anthropic', 'gemini', 'azure', 'ollama', 'mock'] as const
export type ProviderType = (typeof ProviderTypes)[number]

export const Timeouts = Type.Object(
  {
    connect_ms: Millis(10_000, 'TCP/TLS connect timeout'),
    first_byte_ms: Millis(120_000, 'time until the upstream sends its response headers'),
    total_ms: Millis(600_000, 'whole upstream call, body or stream included'),
  },
  { additionalProperties: false, default: {} },
)
export type Timeouts = Static<typeof Timeouts>

export const CapabilityOverrides = Type.Object(
  {
    chat: Type.Optional(Type.Boolean()),
    streaming: Type.Optional(Type.Boolean()),
    embeddings: Type.Optional(Type.Boolean()),
    tools: Type.Optional(Type.Boolean()),
    vision: Type.Optional(Type.Boolean()),
    json_schema: Type.Optional(Type.Boolean()),
    max_context_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    max_output_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false, description: 'overrides what the provider type declares' },
)
export type CapabilityOverrides = Static<typeof CapabilityOverrides>

export const ProviderEntry = Type.Object(
  {
    type: Type.Optional(Type.Union(ProviderTypes.map((t) => Type.Literal(t)))),
    plugin: Type.Optional(
      Type.String({ minLength: 1, description: 'path or package name of a third-party provider plugin' }),
    ),
    enabled: Type.Union([Type.Boolean(), Type.Literal('auto')], {
      default: true,
      description: 'false: not registered; auto: registered only when api_key is not empty',
    }),
    base_url: Type.Optional(Url),
    api_key: Type.Optional(Type.String()),
    api_version: Type.Optional(
      Type.String({ minLength: 1, description: 'azure: the api-version query parameter' }),
    ),
    headers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'extra headers sent upstream on every call',
    }),
    models: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'upstream model ids (globs allowed) this provider serves by their bare name',
    }),
    timeouts: Timeouts,
    max_connections: Type.Integer({ minimum: 1, default: 256, description: 'upstream sockets per origin' }),
    options: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'settings only this provider type understands',
    }),
    capabilities: Type.Optional(CapabilityOverrides),
    health_check: Type.Optional(HealthCheckSettings),
    allow_client_key: Type.Boolean({
      default: false,
      description:
        'true: a client may send its own key for this provider in x-anygate-provider-key, used for that request only',
    }),
  },
  { additionalProperties: false },
)
export type ProviderEntry = Static<typeof ProviderEntry>

export const ModelTarget = Type.Object(
  {
    provider: Type.String({ minLength: 1 }),
    model: Type.String({ minLength: 1 }),
    weight: Type.Number({ minimum: 0, default: 1 }),
    capabilities: Type.Optional(CapabilityOverrides),
    ...targetRoutingFields,
  },
  { additionalProperties: false },
)

export const PublicModel = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    targets: Type.Array(ModelTarget, { minItems: 1 }),
    fallbacks: Type.Array(Type.String(), { default: [] }),
    cache: Type.Optional(ModelCacheSettings),
    ...modelRoutingFields,
  },
  { additionalProperties: false },
)
export type PublicModel = Static<typeof PublicModel>
export type ModelTarget = Static<typeof ModelTarget>

/** `store:` where state shared between replicas lives; see plugins/store/index.ts. */
export const StoreSettings = Type.Object(
  {
    type: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: 'memory: per process; redis: shared by every gateway using the same url and key_prefix',
    }),
    // Empty is allowed here so `url: ${REDIS_URL}` can stay in a file whose store is memory;
    // load.ts requires it for redis.
    url: Type.Optional(
      Type.String({ pattern: '^(rediss?://.*)?$', description: 'must be a redis:// or rediss:// URL' }),
    ),
    key_prefix: Type.String({
      default: 'anygate:',
      description: 'put before every Redis key, so several gateways or tests can share one Redis',
    }),
    on_error: Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
      default: 'allow',
      description: 'when Redis fails: allow serves on without shared state (logged), deny refuses the call',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type StoreSettings = Static<typeof StoreSettings>

/** `server.tls`: serve HTTPS directly, for deployments without a TLS-terminating proxy. */
const PemFile = Type.String({
  minLength: 1,
  description:
    'must be the path of a PEM file (relative to the config file); cert_file and key_file go together',
})
export const TlsSettings = Type.Object(
  { cert_file: PemFile, key_file: PemFile },
  { additionalProperties: false },
)
export type TlsSettings = Static<typeof TlsSettings>

export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        body_limit_bytes: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
        max_header_bytes: Type.Integer({
          minimum: 1024,
          default: 16 * 1024,
          description: 'the most bytes of request headers a client may send (431 above)',
        }),
        shutdown_timeout_ms: Type.Integer({ minimum: 0, default: 30_000 }),
        unready_when_degraded: Type.Boolean({
          default: false,
          description:
            'true: /health/ready answers 503 while a public model has no usable target; false: 200 with status degraded (with breakers shared on Redis every replica would go unready at once)',
        }),
        drain_delay_ms: Type.Integer({
          minimum: 0,
          default: 2000,
          description:
            'on SIGTERM, how long readiness answers 503 while the API is still served, before the drain starts (load balancers need time to stop sending)',
        }),
        log_level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
        cors_origins: Type.Array(Type.String(), {
          default: ['*'],
          description: 'allowed browser origins; [] turns CORS off',
        }),
        trust_proxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 1 }), Type.Array(Type.String())], {
          default: false,
          description:
            'behind a proxy or load balancer: true, the number of proxy hops, or the proxy addresses/CIDRs to trust; the client IP (per_ip_rpm, logs) then comes from X-Forwarded-For',
        }),
        tls: Type.Optional(TlsSettings),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: AuthSettings,
    routing: RoutingSettings,
    store: StoreSettings,
    cache: CacheSettings,
    limits: LimitsSettings,
    pricing: PricingSettings,
    spend: SpendSettings,
    budgets: BudgetSettings,
    metrics: MetricsSettings,
    watch: Type.Boolean({ default: false, description: 'true: reload this file when it changes' }),
    telemetry: TelemetrySettings,
    logging: LoggingSettings,
    providers: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), ProviderEntry, {
      default: {},
      additionalProperties: false,
      description: 'must be a name of letters, digits, _ . or -',
    }),
    models: Type.Array(PublicModel, { default: [] }),
  },
  { additionalProperties: false },
)
export type Config = Static<typeof ConfigSchema>
