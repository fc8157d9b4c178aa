// Field names from the official components Model / ListModelsResponse.
import { type Static, Type } from '@sinclair/typebox'
import { OpenObject } from '../typebox-helpers.js'

export const Model = OpenObject({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
})
export type Model = Static<typeof Model>

export const ListModelsResponse = Type.Object({ object: Type.Literal('list'), data: Type.Array(Model) })
export type ListModelsResponse = Static<typeof ListModelsResponse>

export const ModelParams = Type.Object({
  id: Type.String({ description: 'A public model name or <provider>/<upstream model>' }),
})
