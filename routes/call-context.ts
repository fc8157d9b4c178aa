// What every inference route does around the router: wire the client's disconnect to an abort
// signal before the first attempt, and record what served the request once one succeeded.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { StreamTap, TokenUsage } from '../plugins/call-record.js'
import { headerSafe } from '../plugins/header-value.js'
import { LinkedAbort } from '../plugins/router/linked-abort.js'
import type { BaseCallContext, Routed } from '../plugins/router/router.js'
import type { TokenMix } from '../plugins/router/strategies.js'
import { tokenMixOf } from '../plugins/tokens/request-estimate.js'
import { rawJsonOf } from '../providers/shared/raw-json.js'

/**
 * What a JSON route returns for an upstream answer: the upstream's own text when the adapter kept it
 * (the object was not changed since it was parsed), sent as it is, else the object for Fastify to
 * serialize. The text skips the response-schema lookup and a JSON.stringify of the whole answer (large for
 * embeddings); with the JSON content type set, Fastify sends a string untouched.
 */
export function jsonAnswer<T extends object>(reply: FastifyReply, value: T): T | FastifyReply {
  const raw = rawJsonOf(value)
  if (raw === undefined) return value
  return reply.header('content-type', 'application/json; charset=utf-8').send(raw)
}

export function openCall(request: FastifyRequest, reply: FastifyReply): BaseCallContext {
  // Not an AbortController: its readers only need what LinkedAbort implements (see linked-abort.ts),
  // and a real one with its EventTarget cost several µs per call.
  const controller = new LinkedAbort()
  // 'close' before the response finished means the client went away: stop paying for the answer.
  // on, not once: a response closes once, and once() wraps the listener in two more objects.
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  // Hybrid mode: the client's own provider key, used only by providers with allow_client_key.
  const clientKey = request.headers['x-anygate-provider-key']
  return {
    signal: controller.signal,
    requestId: request.id,
    log: request.log,
    headers: request.headers,
    clientKey: typeof clientKey === 'string' && clientKey !== '' ? clientKey : undefined,
  }
}

/** The router's `tokenMix`: the request's estimate, made only if lowest-cost routing asks for it. */
export function tokenMixFor(request: FastifyRequest): (tokenizerModel: string) => TokenMix {
  return (tokenizerModel) => tokenMixOf(request, tokenizerModel)
}

export function markServed(
  request: FastifyRequest,
  reply: FastifyReply,
  routed: Routed<unknown>,
  stream: boolean,
): void {
  const { resolved } = routed
  request.gateway = {
    model: resolved.requested,
    provider: resolved.provider.name,
    upstreamModel: resolved.upstreamModel,
    attempts: routed.attempts,
    fallbackFrom: routed.fallbackFrom,
    stream,
    cache: request.cacheStatus ?? 'BYPASS',
    // A JSON answer is complete when the router returns it; a stream's first chunk is timed by its tap.
    firstByteMs: stream ? undefined : reply.elapsedTime,
  }
  // One call per header: reply.headers() would build an object and walk its keys for the same.
  reply
    .header('x-anygate-provider', resolved.provider.name)
    .header('x-anygate-model', headerSafe(resolved.upstreamModel))
    .header('x-anygate-attempts', String(routed.attempts))
    .header('x-anygate-cache', request.gateway.cache)
  if (routed.fallbackFrom)
    reply.header('x-anygate-fallback', headerSafe(`${routed.fallbackFrom} -> ${resolved.requested}`))
}

export function recordUsage(request: FastifyRequest, usage: TokenUsage): void {
  if (request.gateway) request.gateway.usage = usage
}

/**
 * The taps a stream encoder calls for each chunk: first-byte time and the end state for the call
 * record, then whatever other plugins added (the cache records the chunks it will replay).
 */
export function streamTapsFor(request: FastifyRequest, reply: FastifyReply): StreamTap[] {
  let first = true
  const record: StreamTap = {
    chunk() {
      if (!first) return
      first = false
      if (request.gateway) request.gateway.firstByteMs = reply.elapsedTime
    },
    end(completed) {
      const gateway = request.gateway
      if (!gateway) return
      gateway.lastByteMs = reply.elapsedTime
      if (!completed) gateway.streamError ??= 'client_abort'
    },
  }
  return request.streamTaps ? [record, ...request.streamTaps] : [record]
}
