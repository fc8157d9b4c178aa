import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { fromOpenAIUsage } from '../plugins/call-record.js'
import { EmbeddingsRequest, EmbeddingsResponse } from '../schemas/openai/embeddings.js'
import { errorReplies } from '../schemas/openai/errors.js'
import { jsonAnswer, markServed, openCall, recordUsage, tokenMixFor } from './call-context.js'

export const embeddingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/embeddings',
    {
      config: { auth: 'api', inference: 'embeddings' },
      schema: {
        tags: ['OpenAI'],
        operationId: 'createEmbedding',
        summary: 'Creates an embedding vector representing the input text',
        body: EmbeddingsRequest,
        response: { 200: EmbeddingsResponse, ...errorReplies },
      },
    },
    async (request, reply) => {
      const routed = await app.router.route(openCall(request, reply), {
        model: request.body.model,
        needs: ['embeddings'],
        streaming: false,
        tokenMix: tokenMixFor(request),
        breakerViews: request.breakerViews,
        call: (resolved, ctx) => resolved.provider.embeddings(request.body, ctx),
      })
      markServed(request, reply, routed, false)
      recordUsage(request, fromOpenAIUsage(routed.value.usage))
      return jsonAnswer(reply, routed.value)
    },
  )
}
