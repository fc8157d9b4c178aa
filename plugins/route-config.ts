// The matched route's config (its auth level, its inference kind), which most plugins read on every
// call. Fastify's request.routeOptions builds a new 12-key object on each access, and a chat call
// made about a dozen; request-log.ts's first onRequest hook reads it once and keeps it here.
import type { FastifyRequest } from 'fastify'

export type RouteConfig = FastifyRequest['routeOptions']['config']

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by request-log.ts's onRequest hook; read it through routeConfigOf. */
    routeConfig: RouteConfig | null
  }
}

/** The route's config; also for a request that failed before any hook ran, or an app without request-log. */
export function routeConfigOf(request: FastifyRequest): RouteConfig {
  return request.routeConfig ?? request.routeOptions.config
}
