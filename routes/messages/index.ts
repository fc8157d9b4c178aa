// POST /v1/messages: the Anthropic Messages API, served by any configured model. A provider that
// speaks Anthropic natively gets the request as sent (model swapped) and its answer is relayed as is;
// any other provider is reached through the canonical request and its answer translated back.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { fromAnthropicUsage } from '../../plugins/call-record.js'
import type { CapabilityName } from '../../plugins/capabilities.js'
import type { ResolvedModel } from '../../plugins/model-catalog.js'
import { type Batch, batchesOf } from '../../providers/shared/batch.js'
import {
  AnthropicErrorResponse,
  AnthropicMessage,
  AnthropicMessagesRequest,
  type AnthropicStreamEvent,
} from '../../schemas/anthropic/messages.js'
import { markServed, openCall, recordUsage, streamTapsFor, tokenMixFor } from '../call-context.js'
import { sendSse } from '../sse.js'
import { CountTokensRequest, CountTokensResponse, estimateInputTokens } from './count-tokens.js'
import { toAnthropicMessage } from './from-canonical.js'
import { AnthropicSseEncoder } from './sse.js'
import { toAnthropicEvents } from './stream-events.js'
import { ignoredFields, toCanonicalRequest } from './to-canonical.js'

const errorReplies = Object.fromEntries(
  [400, 401, 404, 413, 429, 500, 502, 503, 504].map((status) => [status, AnthropicErrorResponse]),
)

const eventTypes = [
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
] as const

const AnthropicStreamEventDoc = Type.Object(
  { type: Type.Union(eventTypes.map((type) => Type.Literal(type))) },
  {
    additionalProperties: true,
    description: 'One server-sent event: `event: <type>` then `data: <the event as JSON>`',
  },
)

/** Fields a translated (non-native) answer could not use, named in a header so nothing is silent. */
function noteIgnored(
  request: FastifyRequest,
  reply: FastifyReply,
  resolved: ResolvedModel,
  body: AnthropicMessagesRequest,
): void {
  if (resolved.provider.anthropicMessages) return
  const ignored = ignoredFields(body)
  if (ignored.length === 0) return
  reply.header('x-anygate-ignored-params', ignored.join(', '))
  request.log.debug({ ignored }, 'Anthropic fields without a canonical counterpart were left out')
}

/** What a request needs from the model, read off the Anthropic request itself. */
function nativeNeeds(request: AnthropicMessagesRequest): CapabilityName[] {
  const needs: CapabilityName[] = ['chat']
  if (request.stream) needs.push('streaming')
  if (request.tools && request.tools.length > 0) needs.push('tools')
  const hasImage = request.messages.some(
    (message) =>
      Array.isArray(message.content) &&
      message.content.some(
        (block) =>
          block.type === 'image' ||
          (block.type === 'tool_result' &&
            Array.isArray(block.content) &&
            block.content.some((item) => item.type === 'image')),
      ),
  )
  if (hasImage) needs.push('vision')
  return needs
}

export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/messages',
    {
      config: { auth: 'api', errorFormat: 'anthropic', inference: 'messages' },
      schema: {
        tags: ['Anthropic'],
        operationId: 'createMessage',
        summary: 'Creates a message (Anthropic Messages API), served by any configured model',
        description:
          'JSON, or server-sent events when `stream` is true: message_start, ping, content blocks ' +
          '(content_block_start, content_block_delta..., content_block_stop), message_delta, message_stop. ' +
          'Top-level fields a non-Anthropic model cannot use are listed in `x-anygate-ignored-params`.',
        body: AnthropicMessagesRequest,
        response: {
          200: {
            description: 'The message, or its events as server-sent events',
            content: {
              'application/json': { schema: AnthropicMessage },
              'text/event-stream': { schema: AnthropicStreamEventDoc },
            },
          },
          ...errorReplies,
        },
      },
    },
    async (request, reply) => {
      const body = request.body
      // Anthropic's SDKs expose this header as the response's request id.
      reply.header('request-id', request.id)
      const base = openCall(request, reply)
      // A group may mix native Anthropic targets (passed through) and others (translated): each
      // attempt picks its path by the target it lands on.
      const translate = (resolved: ResolvedModel) =>
        toCanonicalRequest(body, {
          model: body.model,
          provider: resolved.provider.name,
          type: resolved.provider.type,
        })
      const upstreamRequest = (resolved: ResolvedModel) => ({ ...body, model: resolved.upstreamModel })
      const needs = nativeNeeds(body)
      if (body.stream) {
        const routed = await app.router.route(base, {
          model: body.model,
          needs,
          streaming: true,
          tokenMix: tokenMixFor(request),
          breakerViews: request.breakerViews,
          call: async (resolved, ctx): Promise<AsyncIterable<Batch<AnthropicStreamEvent>>> => {
            const native = resolved.provider.anthropicMessages
            if (native) return batchesOf(await native.stream(upstreamRequest(resolved), ctx))
            const chunks = await resolved.provider.streamChat(translate(resolved), ctx)
            return toAnthropicEvents(batchesOf(chunks), { model: resolved.upstreamModel })
          },
        })
        markServed(request, reply, routed, true)
        noteIgnored(request, reply, routed.resolved, body)
        return sendSse(
          reply,
          routed.value,
          new AnthropicSseEncoder(request.log, {
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
        call: async (resolved, ctx) => {
          const native = resolved.provider.anthropicMessages
          if (native) return native.create(upstreamRequest(resolved), ctx)
          return toAnthropicMessage(
            await resolved.provider.chat(translate(resolved), ctx),
            resolved.provider.name,
          )
        },
      })
      markServed(request, reply, routed, false)
      noteIgnored(request, reply, routed.resolved, body)
      recordUsage(request, fromAnthropicUsage(routed.value.usage))
      return routed.value
    },
  )

  app.post(
    '/messages/count_tokens',
    {
      config: { auth: 'api', errorFormat: 'anthropic' },
      schema: {
        tags: ['Anthropic'],
        operationId: 'countMessageTokens',
        summary: 'Estimates the input tokens of a Messages request',
        description:
          'An estimate, not a tokenizer count: about 4 characters a token, 1,600 per image and 2,250 per ' +
          'PDF page. The response carries `x-anygate-token-count: estimate`.',
        body: CountTokensRequest,
        response: { 200: CountTokensResponse, ...errorReplies },
      },
    },
    async (request, reply) => {
      // The same 404 as /v1/messages for a model this gateway does not serve.
      app.models.resolve(request.body.model)
      reply.header('x-anygate-token-count', 'estimate')
      return { input_tokens: estimateInputTokens(request.body) }
    },
  )
}
