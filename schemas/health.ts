import { Type } from '@sinclair/typebox'

export const HealthStatus = Type.Object({
  status: Type.Union([
    Type.Literal('ok'),
    Type.Literal('starting'),
    Type.Literal('draining'),
    Type.Literal('degraded', {
      description: 'ready otherwise, but some public models have every target circuit open',
    }),
  ]),
  providers: Type.Optional(Type.Array(Type.String())),
  unavailable_models: Type.Optional(
    Type.Array(Type.String(), {
      description: 'with status degraded: the public models no target can serve right now',
    }),
  ),
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
