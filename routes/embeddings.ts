import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
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
      return resolved.provider.embeddings(request.body, beginCall(request, reply, resolved))
    },
  )
}
