// What every inference route does around the router: wire the client's disconnect to an abort
// signal before the first attempt, and report what served the request once one succeeded.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BaseCallContext, Routed } from '../plugins/router/router.js'

export function openCall(request: FastifyRequest, reply: FastifyReply): BaseCallContext {
  const controller = new AbortController()
  // 'close' before the response finished means the client went away: stop paying for the answer.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  return { signal: controller.signal, requestId: request.id, log: request.log, headers: request.headers }
}

export function markServed(request: FastifyRequest, reply: FastifyReply, routed: Routed<unknown>): void {
  const { resolved } = routed
  request.gateway = {
    model: resolved.requested,
    provider: resolved.provider.name,
    upstreamModel: resolved.upstreamModel,
  }
  reply.headers({
    'x-anygate-provider': resolved.provider.name,
    'x-anygate-model': resolved.upstreamModel,
    'x-anygate-attempts': String(routed.attempts),
    'x-anygate-cache': 'BYPASS',
  })
  if (routed.fallbackFrom)
    reply.header('x-anygate-fallback', `${routed.fallbackFrom} -> ${resolved.requested}`)
}
