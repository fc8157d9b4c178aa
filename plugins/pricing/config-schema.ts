// `pricing:` in the config, and the shape of config/pricing.yaml (the shipped table) and of any
// file `pricing.file` names: the same entry shape everywhere, so a line can be copied between them.
import { type Static, Type } from '@sinclair/typebox'

const usdPerMillion = (description: string) => Type.Number({ minimum: 0, description })

export const PriceEntry = Type.Object(
  {
    input: usdPerMillion('USD per million prompt tokens'),
    output: usdPerMillion('USD per million completion tokens'),
    cached_input: Type.Optional(
      usdPerMillion('USD per million prompt tokens served from the provider prompt cache; default: input'),
    ),
  },
  { additionalProperties: false },
)
export type PriceEntry = Static<typeof PriceEntry>

const PriceEntries = Type.Record(Type.String({ minLength: 1 }), PriceEntry, {
  default: {},
  description:
    'keyed by upstream model id (globs * and ? allowed), optionally led by a provider name or type: "gpt-4o", "mock/*"',
})

/** A pricing file: config/pricing.yaml, or the one `pricing.file` names. */
export const PricingFile = Type.Object({ models: PriceEntries }, { additionalProperties: false })
export type PricingFile = Static<typeof PricingFile>

export const PricingSettings = Type.Object(
  {
    file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'a pricing file (same shape as config/pricing.yaml) that extends and overrides the shipped one',
      }),
    ),
    models: PriceEntries,
  },
  { additionalProperties: false, default: {} },
)
export type PricingSettings = Static<typeof PricingSettings>
