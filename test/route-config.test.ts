// The route config every plugin reads per call is taken once per request (plugins/route-config.ts).
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import requestLog from '../plugins/request-log.js'
import { routeConfigOf } from '../plugins/route-config.js'

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('routeConfigOf', () => {
  it("is the route's config, kept on the request by request-log's first hook", async () => {
    const server = Fastify({ logger: false })
    app = server
    await server.register(requestLog)
    const seen: unknown[] = []
    server.addHook('preHandler', (request, _reply, done) => {
      seen.push(request.routeConfig === request.routeOptions.config, routeConfigOf(request).inference)
      done()
    })
    server.post('/chat', { config: { inference: 'chat' } }, async () => ({ ok: true }))
    const res = await server.inject({ method: 'POST', url: '/chat', payload: {} })
    expect(res.statusCode).toBe(200)
    expect(seen).toEqual([true, 'chat'])
  })

  it('falls back to routeOptions where no hook set it', async () => {
    const server = Fastify({ logger: false })
    app = server
    let inference: unknown
    server.post('/embed', { config: { inference: 'embeddings' } }, async (request) => {
      inference = routeConfigOf(request).inference
      return {}
    })
    await server.inject({ method: 'POST', url: '/embed', payload: {} })
    expect(inference).toBe('embeddings')
  })
})
