import { type Static, Type } from '@sinclair/typebox'
import { Nullable } from '../typebox-helpers.js'

/** The OpenAI error body, returned on every route for every failure. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String(),
      param: Nullable(Type.String()),
      code: Nullable(Type.String()),
    }),
  },
  { $id: 'ErrorResponse', description: 'OpenAI-shaped error' },
)
export type ErrorResponse = Static<typeof ErrorResponse>

/** The error replies every /v1 route may give, for the generated document. */
export const errorReplies = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  429: ErrorResponse,
  500: ErrorResponse,
  502: ErrorResponse,
  503: ErrorResponse,
  504: ErrorResponse,
} as const
