import { Type } from '@sinclair/typebox'

export const HealthStatus = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('starting'), Type.Literal('draining')]),
  providers: Type.Optional(Type.Array(Type.String())),
})
