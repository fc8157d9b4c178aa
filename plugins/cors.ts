// CORS for browser clients, through @fastify/cors. A browser sends Origin on every cross-origin
// request and every preflight; SDKs, curl and servers do not, and for them the exposed-header list
// (~400 bytes that Node validates and copies into each response) means nothing. So the origin is
// decided per request: without an Origin header a response carries only `Vary: Origin` (it still
// differs by Origin, which a shared cache must know); with one, the configured origins apply as
// they always did.
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

/** The gateway's own response headers a browser app may read. */
export const exposedHeaders = [
  'x-request-id',
  'x-anygate-provider',
  'x-anygate-model',
  'x-anygate-attempts',
  'x-anygate-fallback',
  'x-anygate-cache',
  'x-anygate-ignored-params',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
]

/** `origins` as in server.cors_origins: "*" reflects any origin, otherwise only those listed. */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed: true | string[] = origins.includes('*') ? true : [...origins]
  await app.register(cors, {
    // false: @fastify/cors adds nothing else (and answers no preflight) for this request.
    origin: (origin, callback) => callback(null, origin === undefined ? false : allowed),
    // One string, not an array: @fastify/cors joins an array again for every response.
    exposedHeaders: exposedHeaders.join(', '),
  })
}
