// The fields of a virtual key, as TypeBox schemas shared by the config file (auth.keys) and the admin
// API (POST/PATCH /admin/keys), so a key declared in YAML and one created over HTTP mean the same.
import { FormatRegistry, type Static, Type } from '@sinclair/typebox'

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i

// Fastify's Ajv knows date-time (ajv-formats); TypeBox's Value, which checks the config, knows no
// format until one is registered. A time zone is required: "midnight" must mean one instant.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => isoDateTime.test(value) && !Number.isNaN(Date.parse(value)))
}

export const BudgetPeriods = ['daily', 'weekly', 'monthly', 'total'] as const

export const KeyBudget = Type.Object(
  {
    amount_usd: Type.Number({ minimum: 0, description: 'spend allowed per period, in US dollars' }),
    period: Type.Union(
      BudgetPeriods.map((p) => Type.Literal(p)),
      { description: 'daily, weekly and monthly reset at 00:00 UTC; total never resets' },
    ),
  },
  { additionalProperties: false },
)
export type KeyBudget = Static<typeof KeyBudget>

/** Each field's schema once; the config, create and update schemas make them optional or nullable. */
export const keyFieldSchemas = {
  models: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
    maxItems: 256,
    description:
      'models this key may use: globs (* and ?) over public model names and `<provider>/<model>`; absent: every model, []: none',
  }),
  rpm: Type.Integer({ minimum: 1, description: 'requests per minute' }),
  tpm: Type.Integer({ minimum: 1, description: 'tokens per minute' }),
  max_parallel: Type.Integer({ minimum: 1, description: 'calls in flight at once' }),
  budget: KeyBudget,
  expires_at: Type.String({
    format: 'date-time',
    description:
      'ISO 8601 date-time with a time zone (2026-01-31T00:00:00Z); from then on the key is refused',
  }),
  metadata: Type.Record(Type.String(), Type.Unknown(), {
    maxProperties: 64,
    description: 'free-form labels kept with the key (team, owner...)',
  }),
}

/** Every field as an optional property, absent meaning no limit: auth.keys, create, the key record. */
export const optionalKeyFields = Type.Partial(Type.Object(keyFieldSchemas)).properties

/** What a key may do: everything but its identity. Absent fields mean "no limit". */
export interface KeyLimits {
  models?: string[]
  rpm?: number
  tpm?: number
  max_parallel?: number
  budget?: KeyBudget
  expires_at?: string
  metadata?: Record<string, unknown>
}

export const limitFieldNames = [
  'models',
  'rpm',
  'tpm',
  'max_parallel',
  'budget',
  'expires_at',
  'metadata',
] as const satisfies readonly (keyof KeyLimits)[]
