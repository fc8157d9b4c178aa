import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthStatus } from '../schemas/health.js'

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
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
        summary: 'Readiness: 200 once listening with providers registered, 503 while starting or draining',
        security: [],
        response: { 200: HealthStatus, 503: HealthStatus },
      },
    },
    async (_request, reply) => {
      const state = app.lifecycle.state
      if (state !== 'ready') return reply.code(503).send({ status: state })
      return { status: 'ok' as const, providers: app.providers.names() }
    },
  )
}
