// Streams: retries and fallbacks apply until the first chunk reached the client; after it, an
// upstream failure ends the stream with one error event and no [DONE], and nothing is retried.
import { describe, expect, it } from 'vitest'
import { parseSse } from './helpers/app.js'
import { chunkBody, sseData, startSse } from './helpers/fake-upstream.js'
import {
  type Behaviour,
  buildRoutingApp,
  chat,
  fail,
  providersFor,
  type ScriptedUpstream,
  startUpstreams,
  streamThen,
} from './helpers/routing.js'

const quickBackoff = { base: 1, max: 5 }

interface Chunk {
  choices: { delta: { content?: string } }[]
}

const textOf = (events: unknown[]) =>
  events
    .filter((e): e is Chunk => typeof e === 'object' && e !== null && 'choices' in e)
    .map((e) => e.choices[0]?.delta.content ?? '')
    .join('')

/** Two targets, `first` tried before `second` (priority), both OpenAI fakes. */
async function pair(
  first: ScriptedUpstream,
  second: ScriptedUpstream,
  firstTarget: Record<string, unknown> = {},
) {
  return buildRoutingApp({
    routing: { strategy: 'priority', backoff_ms: quickBackoff },
    providers: providersFor({ [first.name]: first, [second.name]: second }),
    models: [
      {
        name: 'pair',
        targets: [
          { provider: first.name, model: 'm', priority: 0, ...firstTarget },
          { provider: second.name, model: 'm', priority: 1 },
        ],
      },
    ],
  })
}

/** 200 and SSE headers, then the connection drops before any event. */
const headersThenReset: Behaviour = async (_req, res) => {
  startSse(res)
  res.flushHeaders()
  await new Promise((resolve) => setTimeout(resolve, 20))
  res.socket?.destroy()
}

/** 200 and SSE headers, then silence. */
const headersThenStall: Behaviour = async (_req, res) => {
  startSse(res)
  res.flushHeaders()
  await new Promise<void>((resolve) => res.once('close', resolve))
}

describe('failover before the first byte', () => {
  it.each([
    ['answers 503', fail(503), {}],
    ['drops the connection after the headers', headersThenReset, {}],
    ['sends headers and then nothing past timeout_ms', headersThenStall, { timeout_ms: 200 }],
  ])('streams from the second target when the first %s', async (_, behaviour, firstTarget) => {
    const { timeline, up } = await startUpstreams('broken', 'healthy')
    up.broken.always(behaviour)
    const app = await pair(up.broken, up.healthy, firstTarget)
    const res = await chat(app, 'pair', { stream: true })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/event-stream')
    expect(res.headers['x-anygate-provider']).toBe('healthy')
    expect(res.headers['x-anygate-attempts']).toBe('2')
    expect(timeline.names()).toEqual(['broken', 'healthy'])
    const events = parseSse(res.body)
    expect(events.at(-1)).toBe('[DONE]')
    expect(textOf(events)).toBe('from healthy')
    expect(events.some((e) => typeof e === 'object' && e !== null && 'error' in e)).toBe(false)
  })
})

describe('fallback before the first byte', () => {
  it('streams from the fallback model and names it in x-anygate-fallback', async () => {
    const { timeline, up } = await startUpstreams('down', 'backup')
    up.down.always(fail(503))
    const app = await buildRoutingApp({
      routing: { retries: 0, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'main', targets: [{ provider: 'down', model: 'm' }], fallbacks: ['spare'] },
        { name: 'spare', targets: [{ provider: 'backup', model: 'm-spare' }] },
      ],
    })
    const res = await chat(app, 'main', { stream: true })
    expect(res.headers['x-anygate-fallback']).toBe('main -> spare')
    expect(res.headers['x-anygate-model']).toBe('m-spare')
    expect(timeline.names()).toEqual(['down', 'backup'])
    const events = parseSse(res.body)
    expect(textOf(events)).toBe('from backup')
    expect(events.at(-1)).toBe('[DONE]')
  })
})

describe('failure after the first byte', () => {
  it('ends the stream with one error event and no [DONE], without trying the other target', async () => {
    const { timeline, up } = await startUpstreams('dying', 'healthy')
    up.dying.always(streamThen(2, 'reset'))
    const app = await pair(up.dying, up.healthy)
    const res = await chat(app, 'pair', { stream: true })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-provider']).toBe('dying')
    const events = parseSse(res.body)
    expect(events).not.toContain('[DONE]')
    // What arrived before the failure was relayed, then exactly one error event closes the stream.
    expect(textOf(events)).toBe('dying piece 0 dying piece 1 ')
    const errors = events.filter((e) => typeof e === 'object' && e !== null && 'error' in e)
    expect(errors).toHaveLength(1)
    expect(events.at(-1)).toBe(errors[0])
    expect(errors[0]).toMatchObject({ error: { type: expect.any(String), message: expect.any(String) } })
    expect(timeline.names()).toEqual(['dying'])
    expect(up.healthy.requests).toHaveLength(0)
  })

  it("ends a stream that stalls mid-answer once the provider's idle timeout passes", async () => {
    const { timeline, up } = await startUpstreams('stalling', 'healthy')
    up.stalling.always(streamThen(1, 'stall'))
    const app = await buildRoutingApp({
      routing: { strategy: 'priority', backoff_ms: quickBackoff },
      providers: {
        stalling: { ...providersFor(up).stalling, timeouts: { first_byte_ms: 200 } },
        healthy: providersFor(up).healthy,
      },
      models: [
        {
          name: 'pair',
          targets: [
            { provider: 'stalling', model: 'm', priority: 0 },
            { provider: 'healthy', model: 'm', priority: 1 },
          ],
        },
      ],
    })
    const res = await chat(app, 'pair', { stream: true })
    const events = parseSse(res.body)
    expect(textOf(events)).toBe('stalling piece 0 ')
    expect(events.at(-1)).toMatchObject({ error: { code: 'upstream_timeout' } })
    expect(events).not.toContain('[DONE]')
    expect(timeline.names()).toEqual(['stalling'])
  })

  it('lets a steady stream run past the target timeout_ms, which only covers the first chunk', async () => {
    const { up } = await startUpstreams('steady', 'spare')
    const pieces = 5
    up.steady.always(async (_req, res) => {
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: '' })))
      for (let i = 0; i < pieces; i++) {
        await new Promise((resolve) => setTimeout(resolve, 60))
        res.write(sseData(chunkBody({ content: `${i}` })))
      }
      res.write(sseData(chunkBody({}, 'stop')))
      res.end(sseData('[DONE]'))
    })
    // 5 x 60 ms of streaming against a 150 ms timeout_ms.
    const app = await pair(up.steady, up.spare, { timeout_ms: 150 })
    const res = await chat(app, 'pair', { stream: true })
    const events = parseSse(res.body)
    expect(textOf(events)).toBe('01234')
    expect(events.at(-1)).toBe('[DONE]')
    expect(up.spare.requests).toHaveLength(0)
  })
})
