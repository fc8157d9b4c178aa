import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorReplies } from '../schemas/openai/errors.js'
import { ListModelsResponse, Model } from '../schemas/openai/models.js'

export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/models',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['OpenAI'],
        operationId: 'listModels',
        summary: 'Lists the public models and the models of each configured provider',
        response: { 200: ListModelsResponse, 401: errorReplies[401] },
      },
    },
    async () => ({ object: 'list' as const, data: app.models.list() }),
  )

  // A wildcard, not `:id`: ids of the form <provider>/<model> contain slashes.
  app.get(
    '/models/*',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['OpenAI'],
        operationId: 'retrieveModel',
        summary: 'Retrieves a model by its id',
        params: Type.Object({ '*': Type.String({ description: 'the model id' }) }),
        response: { 200: Model, 401: errorReplies[401], 404: errorReplies[404] },
      },
    },
    async (request) => app.models.get(request.params['*']),
  )
}
