import { Type } from '@sinclair/typebox'

export const HealthStatus = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('starting'), Type.Literal('draining')]),
  providers: Type.Optional(Type.Array(Type.String())),
})

export const ProviderHealth = Type.Object({
  targets: Type.Array(
    Type.Object({
      provider: Type.String(),
      model: Type.String(),
      state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
      in_flight: Type.Integer(),
      latency_ms_ewma: Type.Union([Type.Number(), Type.Null()]),
      last_error: Type.Union([
        Type.Object({
          at: Type.String({ description: 'ISO time' }),
          status: Type.Union([Type.Integer(), Type.Null()]),
          code: Type.Union([Type.String(), Type.Null()]),
          message: Type.String(),
        }),
        Type.Null(),
      ]),
    }),
  ),
})
