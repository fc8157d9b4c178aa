// GET /admin/spend: what was spent, per model, key or day, over a range of UTC days.
import { type Static, Type } from '@sinclair/typebox'

const Day = (description: string) =>
  Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: `${description} (YYYY-MM-DD, UTC)` })

export const SpendQuery = Type.Object(
  {
    key: Type.Optional(
      Type.String({ minLength: 1, description: 'Only this key id (`master`, `anonymous`, a key id)' }),
    ),
    model: Type.Optional(
      Type.String({ minLength: 1, description: 'Only this public model, as clients name it' }),
    ),
    from: Type.Optional(Day('First day included; default: the first day of the month of `to`')),
    to: Type.Optional(Day('Last day included; default: today')),
    // Optional: the gateway's validator injects no defaults, the handler applies it.
    group_by: Type.Optional(
      Type.Union([Type.Literal('model'), Type.Literal('key'), Type.Literal('day')], {
        default: 'model',
        description: 'One row per model, key or day',
      }),
    ),
  },
  { additionalProperties: false },
)
export type SpendQuery = Static<typeof SpendQuery>

const totalsFields = {
  requests: Type.Integer({ minimum: 0, description: 'Calls served, cache hits included' }),
  prompt_tokens: Type.Integer({ minimum: 0, description: 'Prompt tokens paid for (cache hits add none)' }),
  completion_tokens: Type.Integer({ minimum: 0, description: 'Completion tokens paid for' }),
  cost_usd: Type.Number({
    minimum: 0,
    description: 'Cost from the pricing table; calls without a known price add 0',
  }),
}

export const SpendTotals = Type.Object(totalsFields, { additionalProperties: false })

export const SpendGroupRow = Type.Object(
  {
    group: Type.String({ description: 'The model, key id or day of this row, per group_by' }),
    key_name: Type.Optional(Type.String({ description: 'With group_by=key: the key name last recorded' })),
    ...totalsFields,
  },
  { additionalProperties: false },
)

export const SpendReport = Type.Object(
  {
    object: Type.Literal('spend.report'),
    from: Type.String({ description: 'First day included' }),
    to: Type.String({ description: 'Last day included' }),
    group_by: Type.Union([Type.Literal('model'), Type.Literal('key'), Type.Literal('day')]),
    currency: Type.Literal('USD'),
    data: Type.Array(SpendGroupRow, {
      description: 'Days in date order; models and keys by cost, the dearest first',
    }),
    total: SpendTotals,
  },
  { additionalProperties: false, description: 'Spend totals per group over the range' },
)
export type SpendReport = Static<typeof SpendReport>
