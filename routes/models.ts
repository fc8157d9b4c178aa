import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { modelNotFound } from '../plugins/gateway-error.js'
import { allowsModel, directNameOf } from '../plugins/keys/model-access.js'
import type { Principal } from '../plugins/principal.js'
import { errorReplies } from '../schemas/openai/errors.js'
import { ListModelsResponse, Model } from '../schemas/openai/models.js'

export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const directName = (model: string) => directNameOf(app.models, model)
  const visibleTo = (principal: Principal | null) => (model: Model) =>
    allowsModel(principal, model.id, directName)
  // A model the key may not use is as absent as an unknown one.
  const visibleModel = (principal: Principal | null, id: string) => {
    if (!allowsModel(principal, id, directName)) throw modelNotFound(id)
    return app.models.get(id)
  }

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
    // A key restricted to some models sees only those.
    async (request) => ({
      object: 'list' as const,
      data: app.models.list().filter(visibleTo(request.principal)),
    }),
  )

  const retrieve = {
    config: { auth: 'api' as const },
    schema: {
      tags: ['OpenAI'],
      operationId: 'retrieveModel',
      summary: 'Retrieves a model by its id',
      description: 'Ids of the form `<provider>/<model>` may be sent with the slash as is or encoded (%2F).',
      params: Type.Object({ id: Type.String({ description: 'the model id' }) }),
      response: { 200: Model, 401: errorReplies[401], 404: errorReplies[404] },
    },
  }
  app.get('/models/:id', retrieve, async (request) => visibleModel(request.principal, request.params.id))
  // Unencoded <provider>/<model> ids span two path segments; same route, kept out of the document.
  app.get(
    '/models/*',
    {
      ...retrieve,
      schema: { ...retrieve.schema, hide: true, params: Type.Object({ '*': Type.String() }) },
    },
    async (request) => visibleModel(request.principal, request.params['*']),
  )
}
