// Readiness and draining. Ready once the server listens (providers are registered by then). On
// SIGTERM: first unready (readiness 503, the API still served) for server.drain_delay_ms, so load
// balancers take the replica out before anything is refused; then draining (the API answers 503,
// in-flight calls and streams finish).
import fp from 'fastify-plugin'
import { draining } from './gateway-error.js'

export type LifecycleState = 'starting' | 'ready' | 'unready' | 'draining'

export interface Lifecycle {
  state: LifecycleState
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

export default fp(
  async (app) => {
    const lifecycle: Lifecycle = { state: 'starting' }
    app.decorate('lifecycle', lifecycle)
    app.addHook('onListen', async () => {
      if (lifecycle.state === 'starting') lifecycle.state = 'ready'
    })
    app.addHook('onRequest', (request, reply, done) => {
      if (lifecycle.state !== 'draining') return done()
      // Keep-alive clients reconnect elsewhere instead of reusing a connection about to close.
      reply.header('connection', 'close')
      done(request.url.startsWith('/health/') ? undefined : draining())
    })
  },
  { name: 'anygate-lifecycle', fastify: '5.x' },
)
