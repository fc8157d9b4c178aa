// Field names from the official components Model / ListModelsResponse.
import { type Static, Type } from '@sinclair/typebox'
import { OpenObject } from '../typebox-helpers.js'

export const ModelCapabilities = OpenObject(
  {
    chat: Type.Boolean(),
    streaming: Type.Boolean(),
    embeddings: Type.Boolean(),
    tools: Type.Boolean(),
    vision: Type.Boolean(),
    json_schema: Type.Boolean(),
    max_context_tokens: Type.Optional(Type.Integer()),
    max_output_tokens: Type.Optional(Type.Integer()),
  },
  { description: 'AnyGate extension: what requests this model can serve' },
)

export const Model = OpenObject({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
  capabilities: Type.Optional(ModelCapabilities),
})
export type Model = Static<typeof Model>

export const ListModelsResponse = Type.Object({ object: Type.Literal('list'), data: Type.Array(Model) })
export type ListModelsResponse = Static<typeof ListModelsResponse>

export const ModelParams = Type.Object({
  id: Type.String({ description: 'A public model name or <provider>/<upstream model>' }),
})
