// `spend:` and `budgets:` in the config, as TypeBox fragments for config/schema.ts to adopt.
import { type Static, Type } from '@sinclair/typebox'

export const SpendSettings = Type.Object(
  {
    retention_days: Type.Integer({
      minimum: 1,
      default: 400,
      description: 'days of per-key, per-model spend kept for GET /admin/spend (Redis keys expire after it)',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type SpendSettings = Static<typeof SpendSettings>

export const BudgetSettings = Type.Object(
  {
    alert_webhook: Type.Optional(
      Type.String({
        format: 'uri',
        description: 'must be a URL: POSTed JSON once per key, period and threshold crossed',
      }),
    ),
    alert_headers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'headers sent with every alert, e.g. a token the receiver checks (never logged)',
    }),
    thresholds: Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 10 }), {
      default: [0.8, 1],
      description: 'shares of a key budget that trigger an alert once spent',
    }),
    default_output_tokens: Type.Integer({
      minimum: 0,
      default: 1024,
      description: 'completion tokens a budget reserves for a request that sets no max_tokens',
    }),
    reservation_ttl_s: Type.Integer({
      minimum: 1,
      default: 900,
      description:
        'a reservation not settled within this time (a replica that died mid-call) is released; keep it above the longest call',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type BudgetSettings = Static<typeof BudgetSettings>
