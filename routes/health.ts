import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthStatus, ProviderHealth } from '../schemas/health.js'

export const healthRoutes: FastifyPluginAsyncTypebox<{ unreadyWhenDegraded?: boolean }> = async (
  app,
  { unreadyWhenDegraded = false },
) => {
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['Health'],
        operationId: 'live',
        summary: 'Liveness: 200 while the process runs',
        security: [],
        response: { 200: HealthStatus },
      },
    },
    async () => ({ status: app.lifecycle.state === 'draining' ? ('draining' as const) : ('ok' as const) }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['Health'],
        operationId: 'ready',
        summary:
          'Readiness: 200 while listening and every public model has a target whose circuit is not open; ' +
          '503 while starting or draining; status degraded names the models with no usable target (503 with server.unready_when_degraded)',
        security: [],
        response: { 200: HealthStatus, 503: HealthStatus },
      },
    },
    async (_request, reply) => {
      const state = app.lifecycle.state
      // Unready is the start of a drain: load balancers see it as one.
      if (state !== 'ready') return reply.code(503).send({ status: state === 'unready' ? 'draining' : state })
      const providers = app.providers.names()
      const unavailable = await app.routerState.unavailableModels()
      if (unavailable.length === 0) return { status: 'ok' as const, providers }
      // Upstream trouble is not this replica's: by default it stays in the load balancer (an
      // unready replica cannot serve its healthy models either), and the body says what is wrong.
      const status = unreadyWhenDegraded ? 503 : 200
      return reply.code(status).send({ status: 'degraded', providers, unavailable_models: unavailable })
    },
  )

  app.get(
    '/health/providers',
    {
      schema: {
        tags: ['Health'],
        operationId: 'providerHealth',
        summary: 'Every configured target: circuit state, calls in flight, latency, last error',
        security: [],
        response: { 200: ProviderHealth },
      },
    },
    async () => {
      const { breaker, stats, targetIds } = app.routerState
      const targets = await Promise.all(
        targetIds().map(async (id) => {
          const slash = id.indexOf('/')
          const snapshot = stats.snapshot(id)
          const lastError = snapshot.lastError
          return {
            provider: id.slice(0, slash),
            model: id.slice(slash + 1),
            state: (await breaker.snapshot(id)).state,
            in_flight: snapshot.inFlight,
            latency_ms_ewma:
              snapshot.latencyEwmaMs === null ? null : Math.round(snapshot.latencyEwmaMs * 100) / 100,
            last_error: lastError && { ...lastError, at: new Date(lastError.at).toISOString() },
          }
        }),
      )
      return { targets }
    },
  )
}
