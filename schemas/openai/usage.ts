import { type Static, Type } from '@sinclair/typebox'
import { OpenObject } from '../typebox-helpers.js'

export const CompletionUsage = OpenObject({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
  prompt_tokens_details: Type.Optional(
    OpenObject({
      cached_tokens: Type.Optional(Type.Integer()),
      audio_tokens: Type.Optional(Type.Integer()),
      cache_write_tokens: Type.Optional(Type.Integer()),
    }),
  ),
  completion_tokens_details: Type.Optional(
    OpenObject({
      reasoning_tokens: Type.Optional(Type.Integer()),
      audio_tokens: Type.Optional(Type.Integer()),
      accepted_prediction_tokens: Type.Optional(Type.Integer()),
      rejected_prediction_tokens: Type.Optional(Type.Integer()),
    }),
  ),
})
export type CompletionUsage = Static<typeof CompletionUsage>
