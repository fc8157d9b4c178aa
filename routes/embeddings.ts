import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assertCapabilities } from '../plugins/capabilities.js'
import { EmbeddingsRequest, EmbeddingsResponse } from '../schemas/openai/embeddings.js'
import { errorReplies } from '../schemas/openai/errors.js'
import { beginCall } from './call-context.js'

export const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/embeddings',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['OpenAI'],
        operationId: 'createEmbedding',
        summary: 'Creates an embedding vector representing the input text',
        body: EmbeddingsRequest,
        response: { 200: EmbeddingsResponse, ...errorReplies },
      },
    },
    async (request, reply) => {
      const resolved = app.models.resolve(request.body.model)
      assertCapabilities(resolved.capabilities, ['embeddings'], {
        model: request.body.model,
        provider: resolved.provider.name,
        upstreamModel: resolved.upstreamModel,
      })
      return resolved.provider.embeddings(request.body, beginCall(request, reply, resolved))
    },
  )
}
