// Everything a route does between resolving the model and calling the provider: the abort wiring,
// the x-anygate-* headers and the request's gateway context for the log line.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedModel } from '../plugins/model-catalog.js'
import type { CallContext } from '../providers/contract.js'

export function beginCall(
  request: FastifyRequest,
  reply: FastifyReply,
  resolved: ResolvedModel,
): CallContext {
  const controller = new AbortController()
  // 'close' before the response finished means the client went away: stop paying for the answer.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  request.gateway = {
    model: resolved.requested,
    provider: resolved.provider.name,
    upstreamModel: resolved.upstreamModel,
  }
  reply.headers({
    'x-anygate-provider': resolved.provider.name,
    'x-anygate-model': resolved.upstreamModel,
    'x-anygate-attempts': '1',
    'x-anygate-cache': 'BYPASS',
  })
  return {
    model: resolved.upstreamModel,
    signal: controller.signal,
    requestId: request.id,
    log: request.log,
    headers: request.headers,
  }
}
