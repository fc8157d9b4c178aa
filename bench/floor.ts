// The floor: the cheapest gateway that still is one. Bare Fastify in front of an undici Pool, bytes
// in and bytes out, no validation, no routing, no parsing. Whatever AnyGate costs above this is the
// price of what it does with a request, not of sitting between client and upstream.
import Fastify from 'fastify'
import { Pool } from 'undici'
import { chatPath } from './chat-payloads.js'
import type { RunningServer } from './running-server.js'

export interface FloorOptions {
  upstreamOrigin: string
  /** Upstream sockets (default 256, AnyGate's default max_connections). */
  connections?: number
}

export async function startFloor(options: FloorOptions): Promise<RunningServer> {
  // Same pool shape as AnyGate's UpstreamClient defaults, so neither side wins on connection reuse.
  const pool = new Pool(options.upstreamOrigin, {
    connections: options.connections ?? 256,
    keepAliveTimeout: 30_000,
  })
  const app = Fastify({ logger: false })

  // The body stays a Buffer: a passthrough has no reason to parse it.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  )

  app.post(chatPath, async (request, reply) => {
    const upstream = await pool.request({
      method: 'POST',
      path: chatPath,
      headers: { 'content-type': 'application/json' },
      body: request.body as Buffer,
    })
    reply.code(upstream.statusCode)
    const contentType = upstream.headers['content-type']
    if (contentType) reply.header('content-type', contentType)
    const contentLength = upstream.headers['content-length']
    if (contentLength) reply.header('content-length', contentLength)
    // Fastify pipes the stream, JSON and SSE alike, and destroys it (aborting upstream) if the client leaves.
    return reply.send(upstream.body)
  })
  app.addHook('onClose', async () => {
    await pool.close()
  })

  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
}
