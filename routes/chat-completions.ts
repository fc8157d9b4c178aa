import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { fromOpenAIUsage } from '../plugins/call-record.js'
import { requiredCapabilities } from '../plugins/capabilities.js'
import { batchesOf } from '../providers/shared/batch.js'
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from '../schemas/openai/chat.js'
import { errorReplies } from '../schemas/openai/errors.js'
import { jsonAnswer, markServed, openCall, recordUsage, streamTapsFor, tokenMixFor } from './call-context.js'
import { ChatSseEncoder, sendSse } from './sse.js'

export const chatCompletionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/chat/completions',
    {
      config: { auth: 'api', inference: 'chat' },
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
      const base = openCall(request, reply)
      const needs = requiredCapabilities(body)
      if (body.stream) {
        const routed = await app.router.route(base, {
          model: body.model,
          needs,
          streaming: true,
          tokenMix: tokenMixFor(request),
          breakerViews: request.breakerViews,
          call: async (resolved, ctx) => batchesOf(await resolved.provider.streamChat(body, ctx)),
        })
        markServed(request, reply, routed, true)
        const includeUsage = body.stream_options?.include_usage === true
        return sendSse(
          reply,
          routed.value,
          new ChatSseEncoder({
            includeUsage,
            log: request.log,
            taps: streamTapsFor(request, reply),
            onUsage: (usage) => recordUsage(request, usage),
            onError: (code) => {
              if (request.gateway) request.gateway.streamError = code
            },
          }),
        )
      }
      const routed = await app.router.route(base, {
        model: body.model,
        needs,
        streaming: false,
        tokenMix: tokenMixFor(request),
        breakerViews: request.breakerViews,
        call: (resolved, ctx) => resolved.provider.chat(body, ctx),
      })
      markServed(request, reply, routed, false)
      if (routed.value.usage) recordUsage(request, fromOpenAIUsage(routed.value.usage))
      return jsonAnswer(reply, routed.value)
    },
  )
}
