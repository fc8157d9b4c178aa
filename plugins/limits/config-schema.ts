// `limits:`, the deployment-wide rate limits. Per-key limits (rpm, tpm, max_parallel) come with each
// key (plugins/principal.ts); this section adds the ones that do not depend on who calls. Every
// field is optional and unset means no limit, so the embedded default config has none.
import { type Static, Type } from '@sinclair/typebox'

const PerMinute = (description: string) => Type.Optional(Type.Integer({ minimum: 1, description }))

export const ModelLimits = Type.Object(
  {
    rpm: PerMinute('requests per minute to this model, all callers together'),
    tpm: PerMinute('tokens per minute (prompt + completion) through this model, all callers together'),
  },
  { additionalProperties: false },
)
export type ModelLimits = Static<typeof ModelLimits>

export const LimitsSettings = Type.Object(
  {
    global_rpm: PerMinute('requests per minute to the inference routes, all callers together'),
    per_ip_rpm: PerMinute(
      'requests per minute from one client IP address (the socket address: behind a proxy, every caller shares the proxy address)',
    ),
    models: Type.Record(Type.String({ minLength: 1 }), ModelLimits, {
      default: {},
      description: 'per model name as clients send it (a public model or <provider>/<model>): rpm and tpm',
    }),
    max_streams_per_key: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'streaming requests one caller may have open at once: per key, or per client IP when auth is off',
      }),
    ),
    max_messages: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'messages one chat or /v1/messages request may carry; more is a 400 too_many_messages',
      }),
    ),
    parallel_lease_ms: Type.Integer({
      minimum: 1000,
      default: 600_000,
      description:
        'store.type redis: a max_parallel slot held by a replica that died mid-call frees itself after this long; keep it above the longest call',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type LimitsSettings = Static<typeof LimitsSettings>
