import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assertCapabilities, requiredCapabilities } from '../plugins/capabilities.js'
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from '../schemas/openai/chat.js'
import { errorReplies } from '../schemas/openai/errors.js'
import { beginCall } from './call-context.js'
import { encodeChatSse, sendSse } from './sse.js'

export const chatCompletionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/chat/completions',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['OpenAI'],
        operationId: 'createChatCompletion',
        summary: 'Creates a model response for the given chat conversation',
        description:
          'JSON, or server-sent events when `stream` is true: `data: <chunk>` events, then `data: [DONE]`.',
        body: ChatCompletionRequest,
        response: {
          200: {
            description: 'The completion, or its chunks as server-sent events',
            content: {
              'application/json': { schema: ChatCompletion },
              'text/event-stream': { schema: ChatCompletionChunk },
            },
          },
          ...errorReplies,
        },
      },
    },
    async (request, reply) => {
      const body = request.body
      const resolved = app.models.resolve(body.model)
      assertCapabilities(resolved.capabilities, requiredCapabilities(body), {
        model: body.model,
        provider: resolved.provider.name,
        upstreamModel: resolved.upstreamModel,
      })
      const ctx = beginCall(request, reply, resolved)
      if (body.stream) {
        const chunks = await resolved.provider.streamChat(body, ctx)
        const includeUsage = body.stream_options?.include_usage === true
        return sendSse(reply, encodeChatSse(chunks, { includeUsage, log: request.log }))
      }
      return resolved.provider.chat(body, ctx)
    },
  )
}
