// The router's config, as TypeBox fragments for config/schema.ts to adopt (the router does not edit
// that file itself). Defaults are the ones in issue #4; every object is closed like the rest of the
// config so a misspelt key is an error.
import { type Static, Type } from '@sinclair/typebox'

export const strategyNames = [
  'weighted',
  'round-robin',
  'least-busy',
  'lowest-latency',
  'lowest-cost',
  'priority',
] as const
export type StrategyName = (typeof strategyNames)[number]

const strategyLiterals = () => strategyNames.map((name) => Type.Literal(name))

export const CircuitBreakerSettings = Type.Object(
  {
    consecutive_failures: Type.Integer({
      minimum: 1,
      default: 5,
      description: 'opens after this many failures in a row',
    }),
    error_rate: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'opens when this share of calls in the window failed',
    }),
    window_s: Type.Integer({ minimum: 1, default: 60, description: 'sliding window for error_rate' }),
    min_samples: Type.Integer({
      minimum: 1,
      default: 10,
      description: 'error_rate is judged only with at least this many calls in the window',
    }),
    cooldown_s: Type.Number({ minimum: 0, default: 30, description: 'open time before one trial call' }),
    trial_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      default: 120,
      description: 'a trial not reported back within this time (a crashed replica) lets another trial in',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type CircuitBreakerSettings = Static<typeof CircuitBreakerSettings>

export const BackoffSettings = Type.Object(
  {
    base: Type.Integer({ minimum: 0, default: 200, description: 'first backoff ceiling in ms' }),
    max: Type.Integer({ minimum: 0, default: 5000, description: 'largest backoff ceiling in ms' }),
  },
  { additionalProperties: false, default: {} },
)
export type BackoffSettings = Static<typeof BackoffSettings>

/** `routing:` at the top level of the config. */
export const RoutingSettings = Type.Object(
  {
    strategy: Type.Union(strategyLiterals(), { default: 'weighted' }),
    retries: Type.Integer({ minimum: 0, default: 2, description: 'extra attempts per public model' }),
    backoff_ms: BackoffSettings,
    timeout_ms: Type.Integer({
      minimum: 1,
      default: 600_000,
      description: 'overall deadline for a request, retries and fallbacks included',
    }),
    exploration_rate: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.05,
      description: 'lowest-latency: share of requests that try an unmeasured or stale target first',
    }),
    latency_alpha: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.3,
      description: 'weight of the newest time-to-first-byte sample in the latency average',
    }),
    latency_stale_s: Type.Integer({
      minimum: 1,
      default: 300,
      description: 'a latency average older than this is re-measured by exploration',
    }),
    circuit_breaker: CircuitBreakerSettings,
  },
  { additionalProperties: false, default: {} },
)
export type RoutingSettings = Static<typeof RoutingSettings>

export const TargetPrice = Type.Object(
  {
    input_per_mtok: Type.Number({ minimum: 0, description: 'price per million prompt tokens' }),
    output_per_mtok: Type.Number({ minimum: 0, description: 'price per million completion tokens' }),
    cached_input_per_mtok: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'price per million prompt tokens served from the provider prompt cache; default: input_per_mtok',
      }),
    ),
  },
  { additionalProperties: false },
)
export type TargetPrice = Static<typeof TargetPrice>

/**
 * `providers.<name>.health_check`: probe every public-model target of the provider in the background,
 * so a dead upstream opens its breaker before users reach it and a recovered one closes on the probe.
 * A probe is a one-token chat completion through the provider's adapter; see health-checks.ts.
 */
export const HealthCheckSettings = Type.Object(
  {
    interval_s: Type.Number({
      exclusiveMinimum: 0,
      description: 'seconds between the end of one probe of a target and the start of the next',
    }),
    timeout_s: Type.Number({
      exclusiveMinimum: 0,
      default: 10,
      description: 'a probe not answered within this many seconds counts as a failure',
    }),
  },
  { additionalProperties: false },
)
export type HealthCheckSettings = Static<typeof HealthCheckSettings>

/** Fields to add to `ModelTarget` in config/schema.ts. */
export const targetRoutingFields = {
  priority: Type.Optional(Type.Integer({ minimum: 0, description: 'priority strategy: lower goes first' })),
  max_concurrency: Type.Optional(Type.Integer({ minimum: 1, description: 'in-flight calls at most' })),
  max_rpm: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'calls started per minute at most (sliding window; shared by replicas on a Redis store)',
    }),
  ),
  timeout_ms: Type.Optional(
    Type.Integer({ minimum: 1, description: 'per-attempt deadline for this target' }),
  ),
  prefer_for: Type.Optional(
    Type.Array(Type.Literal('text'), { description: 'text-only requests go to these targets first' }),
  ),
  price: Type.Optional(TargetPrice),
}

/** Fields to add to `PublicModel` in config/schema.ts (`fallbacks` is there already). */
export const modelRoutingFields = {
  strategy: Type.Optional(Type.Union(strategyLiterals())),
  context_window_fallbacks: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  content_policy_fallbacks: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
}
