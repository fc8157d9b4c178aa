// GET /admin/providers and POST /admin/providers/{name}/enable|disable: each provider's state.
import { type Static, Type } from '@sinclair/typebox'
import { Nullable } from '../typebox-helpers.js'

export const ProviderTargetState = Type.Object({
  id: Type.String({ description: '`<provider>/<upstream model>`, the key of its breaker and stats' }),
  model: Type.String({ description: 'the public model this target serves' }),
  upstream_model: Type.String(),
  circuit: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  inflight: Type.Integer({ minimum: 0, description: 'calls to it running now' }),
  healthy: Type.Boolean({ description: 'its provider is enabled and its circuit is closed' }),
})

export const ProviderState = Type.Object({
  name: Type.String(),
  type: Type.String({ description: 'openai, anthropic, ...; `plugin` for a third-party plugin' }),
  enabled: Type.Boolean({ description: 'in effect now: the runtime override, else the file' }),
  configured_enabled: Type.Boolean({ description: "the file's `enabled` (`auto` resolved)" }),
  runtime_override: Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Null()], {
    description: 'set by enable/disable; cleared by the next reload',
  }),
  base_url: Nullable(Type.String()),
  targets: Type.Array(ProviderTargetState, { description: "the public models' targets on it" }),
})
export type ProviderState = Static<typeof ProviderState>

export const ProviderList = Type.Object({ providers: Type.Array(ProviderState) })

export const ProviderParams = Type.Object(
  { name: Type.String({ minLength: 1, description: 'the provider name in the config' }) },
  { additionalProperties: false },
)
