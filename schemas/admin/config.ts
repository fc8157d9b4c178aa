// GET /admin/config: the config in effect, secrets redacted.
import { type Static, Type } from '@sinclair/typebox'
import { Nullable } from '../typebox-helpers.js'

export const EffectiveConfig = Type.Object(
  {
    object: Type.Literal('config'),
    path: Nullable(Type.String({ description: 'the config file; null when built from an in-memory config' })),
    loaded_at: Type.String({ format: 'date-time', description: 'when this config was loaded or reloaded' }),
    generation: Type.Integer({
      minimum: 1,
      description: 'the runtime serving calls: 1 at startup, one more per reload or provider switch',
    }),
    config: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'The file as loaded: defaults applied, environment variables substituted, `providers` as a list with `name` ' +
        'and the resolved `enabled`. Every secret (API keys, the master key, virtual key secrets, ' +
        'credential headers, URL passwords) reads "[redacted]".',
    }),
  },
  { description: 'The effective config' },
)
export type EffectiveConfig = Static<typeof EffectiveConfig>
