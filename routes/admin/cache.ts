// DELETE /admin/cache: drop every cached answer, or one model's (`?model=`), e.g. after changing a
// system prompt or a model's targets. Registered under /admin with the master key.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { GatewayError } from '../../plugins/gateway-error.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

const CachePurgeQuery = Type.Object(
  {
    model: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Only the answers of this model, as clients name it (public name or `<provider>/<model>`)',
      }),
    ),
  },
  { additionalProperties: false },
)

const CachePurgeResult = Type.Object(
  {
    object: Type.Literal('cache.purge'),
    model: Type.Union([Type.String(), Type.Null()], { description: 'The model purged; null: every model' }),
    deleted: Type.Integer({ minimum: 0, description: 'How many cached answers were deleted' }),
    enabled: Type.Boolean({ description: 'Whether the response cache is on for any model' }),
  },
  { description: 'What DELETE /admin/cache removed' },
)

export const adminCacheRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.delete(
    '/cache',
    {
      config: { auth: 'master' },
      schema: {
        tags: ['Admin'],
        operationId: 'purgeCache',
        summary: 'Deletes cached responses: all of them, or those of one model',
        querystring: CachePurgeQuery,
        response: {
          200: CachePurgeResult,
          400: ErrorResponse,
          401: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      const model = request.query.model
      const cache = app.responseCache
      let deleted = 0
      if (cache) {
        try {
          deleted = await cache.clear(model)
        } catch (err) {
          request.log.warn({ err: (err as Error).message }, 'cache purge failed')
          throw new GatewayError(
            503,
            'The response cache backend (Redis) did not answer; nothing or only part was deleted. Try again.',
            'service_unavailable',
            'cache_unavailable',
          )
        }
      }
      return { object: 'cache.purge' as const, model: model ?? null, deleted, enabled: cache !== null }
    },
  )
}
