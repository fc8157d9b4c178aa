// In-flight counters after clients hang up: every way out of a request (mid-stream, mid-call, during
// a retry wait, during failover) must give the target's slot back, or least-busy and
// max_concurrency would shun a healthy target for ever. Real sockets: inject cannot hang up.
import { request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { batchesOf } from '../providers/shared/batch.js'
import { ChatSseEncoder, SseBody } from '../routes/sse.js'
import type { ChatCompletionRequest } from '../schemas/openai/chat.js'
import {
  buildRoutingApp,
  fail,
  hold,
  providersFor,
  type ScriptedUpstream,
  stall,
  startUpstreams,
  streamThen,
  targetHealth,
  throttle,
} from './helpers/routing.js'

/** Starts a chat request over a real socket; the test decides when the client goes away. */
function startChat(origin: string, payload: Record<string, unknown>) {
  const req = httpRequest(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  })
  // The hang-up is the point; its socket error is expected.
  req.on('error', () => {})
  const firstData = new Promise<string>((resolve) => {
    req.on('response', (res) => res.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))))
  })
  req.end(JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], ...payload }))
  return { firstData, hangUp: () => req.destroy() }
}

async function listen(app: FastifyInstance) {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

const inFlight = async (app: FastifyInstance) =>
  Object.fromEntries(Object.entries(await targetHealth(app)).map(([id, t]) => [id, t.in_flight]))

const allZero = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, 0]))

/** The upstream saw the gateway hang up on every request it got. */
async function expectAbandoned(upstream: ScriptedUpstream) {
  await Promise.all(upstream.requests.map((r) => r.ended))
  expect(upstream.requests.map((r) => r.aborted)).toEqual(upstream.requests.map(() => true))
}

describe('in-flight counters after client aborts', () => {
  it('drop back to 0 when clients hang up mid-stream', async () => {
    const { up } = await startUpstreams('a', 'b')
    up.a.always(streamThen(1, 'stall'))
    up.b.always(streamThen(1, 'stall'))
    const app = await buildRoutingApp({
      providers: providersFor(up),
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
        },
      ],
    })
    const origin = await listen(app)
    const clients = Array.from({ length: 6 }, () => startChat(origin, { model: 'chat', stream: true }))
    const firsts = await Promise.all(clients.map((c) => c.firstData))
    expect(firsts.every((text) => text.startsWith('data: '))).toBe(true)
    // Streams in progress hold their target.
    const during = await inFlight(app)
    expect(during['a/m']! + during['b/m']!).toBe(clients.length)

    for (const client of clients) client.hangUp()
    await expectAbandoned(up.a)
    await expectAbandoned(up.b)
    await expect.poll(() => inFlight(app)).toEqual(allZero(['a/m', 'b/m']))
  })

  it('drop back to 0 when the client hangs up while the upstream is still thinking', async () => {
    const { timeline, up } = await startUpstreams('a')
    up.a.always(stall())
    const app = await buildRoutingApp({
      providers: providersFor(up),
      models: [{ name: 'chat', targets: [{ provider: 'a', model: 'm' }] }],
    })
    const origin = await listen(app)
    const client = startChat(origin, { model: 'chat' })
    await timeline.reached(1)
    expect(await inFlight(app)).toEqual({ 'a/m': 1 })
    client.hangUp()
    await expectAbandoned(up.a)
    await expect.poll(() => inFlight(app)).toEqual(allZero(['a/m']))
    // A client that left says nothing about the upstream.
    expect((await targetHealth(app))['a/m']).toMatchObject({ state: 'closed', last_error: null })
  })

  it('drop back to 0, with no further attempt, when the client hangs up during a retry wait', async () => {
    const { timeline, up } = await startUpstreams('a')
    up.a.always(throttle('1'))
    const app = await buildRoutingApp({
      routing: { retries: 2, backoff_ms: { base: 1, max: 5 } },
      providers: providersFor(up),
      models: [{ name: 'chat', targets: [{ provider: 'a', model: 'm' }] }],
    })
    const origin = await listen(app)
    const client = startChat(origin, { model: 'chat' })
    await timeline.reached(1)
    await up.a.requests[0]!.ended
    client.hangUp()
    // Past the Retry-After the router was waiting out: the retry never went upstream.
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect(up.a.requests).toHaveLength(1)
    expect(await inFlight(app)).toEqual(allZero(['a/m']))
  })

  it('drop back to 0 on every target when the client hangs up after a failover', async () => {
    const { timeline, up } = await startUpstreams('first', 'second')
    up.first.always(fail(503))
    up.second.always(hold())
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: { base: 1, max: 5 } },
      providers: providersFor(up),
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'first', model: 'm', priority: 0 },
            { provider: 'second', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const origin = await listen(app)
    const client = startChat(origin, { model: 'chat', stream: true })
    await timeline.reached(2)
    expect(await inFlight(app)).toEqual({ 'first/m': 0, 'second/m': 1 })
    client.hangUp()
    await expectAbandoned(up.second)
    await expect.poll(() => inFlight(app)).toEqual(allZero(['first/m', 'second/m']))
  })

  // Fastify destroys a reply stream whose socket is already closed before reading from it, and
  // return() on an async generator that never started skips its `finally`: the router's release in
  // that finally never ran. Reachable whenever an await after the first chunk (a breaker store on the
  // network) lets the client's close event in before the route sends the stream.
  it('drop back to 0 when the client left before the stream was first read', async () => {
    const { up } = await startUpstreams('a')
    up.a.always(streamThen(1, 'stall'))
    const app = await buildRoutingApp({
      providers: providersFor(up),
      models: [{ name: 'chat', targets: [{ provider: 'a', model: 'm' }] }],
    })
    const client = new AbortController()
    const body = {
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    } as ChatCompletionRequest
    const routed = await app.router.route(
      { signal: client.signal, requestId: 'abandoned-1', log: app.log, headers: {} },
      {
        model: 'chat',
        needs: ['chat', 'streaming'],
        streaming: true,
        call: async (resolved, ctx) => batchesOf(await resolved.provider.streamChat(body, ctx)),
      },
    )
    expect(await inFlight(app)).toEqual({ 'a/m': 1 })
    client.abort()
    // What sendSse hands Fastify, destroyed unread as Fastify does when the socket is gone.
    const sse = new SseBody(
      { socket: null, writableEnded: false },
      routed.value,
      new ChatSseEncoder({ includeUsage: false, log: app.log }),
    )
    await new Promise<void>((resolve) => sse.once('close', () => resolve()).destroy())
    await expectAbandoned(up.a)
    expect(await inFlight(app)).toEqual(allZero(['a/m']))
  })
})
