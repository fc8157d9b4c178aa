// On the Redis store the router's breaker read is a round trip of its own after the limit and budget
// checks. Started in preValidation (before every preHandler, whatever plugin added it), it runs
// while those checks wait on Redis, and the router takes the result (RouteRequest.breakerViews).
// The memory store answers at once, so there is nothing to overlap and no hook is added.
import type { FastifyInstance } from 'fastify'
import { routeConfigOf } from '../route-config.js'
import type { BreakerView } from './circuit-breaker.js'
import { targetId } from './types.js'

declare module 'fastify' {
  interface FastifyRequest {
    breakerViews: Promise<BreakerView[] | undefined> | undefined
  }
}

export function prefetchBreakerViews(app: FastifyInstance): void {
  app.decorateRequest('breakerViews', undefined)
  if (!app.stateStore.redis) return
  app.addHook('preValidation', (request, _reply, done) => {
    const model = (request.body as { model?: unknown } | undefined)?.model
    if (routeConfigOf(request).inference === undefined || typeof model !== 'string') return done()
    let targets: string[]
    try {
      targets = app.models.resolveGroup(model).targets.map((t) => targetId(t.config.provider, t.config.model))
    } catch {
      return done() // an unknown model: the route answers 404 without routing
    }
    const { breaker } = app.routerState
    // A failed read is read again by the router, so it is never an unhandled rejection here.
    request.breakerViews = Promise.all(targets.map((id) => breaker.peek(id))).catch(() => undefined)
    done()
  })
}
