// Field names from the official components CreateEmbeddingRequest / CreateEmbeddingResponse.
import { type Static, Type } from '@sinclair/typebox'
import { OpenObject } from '../typebox-helpers.js'

const batch = { minItems: 1, maxItems: 2048 }

export const EmbeddingsRequest = OpenObject(
  {
    model: Type.String({ minLength: 1 }),
    input: Type.Union([
      Type.String(),
      Type.Array(Type.String(), batch),
      Type.Array(Type.Integer(), batch),
      Type.Array(Type.Array(Type.Integer(), { minItems: 1 }), batch),
    ]),
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
    dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
    user: Type.Optional(Type.String()),
  },
  { description: 'CreateEmbeddingRequest' },
)
export type EmbeddingsRequest = Static<typeof EmbeddingsRequest>

export const Embedding = OpenObject({
  object: Type.Literal('embedding'),
  index: Type.Integer(),
  embedding: Type.Union([
    Type.Array(Type.Number()),
    Type.String({ description: 'base64 of float32 values' }),
  ]),
})

export const EmbeddingsResponse = OpenObject(
  {
    object: Type.Literal('list'),
    model: Type.String(),
    data: Type.Array(Embedding),
    usage: OpenObject({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
  },
  { description: 'CreateEmbeddingResponse' },
)
export type EmbeddingsResponse = Static<typeof EmbeddingsResponse>
