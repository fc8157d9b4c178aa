// Streams and the response cache: a completed stream is stored and replayed as valid SSE (read by
// the official openai SDK), and a stream that failed or that the client aborted is never stored.
import { request as httpRequest } from 'node:http'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { StreamRecorder } from '../plugins/cache/replay.js'
import { listenTestApp, parseSse } from './helpers/app.js'
import {
  chunkBody,
  type FakeUpstream,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
} from './helpers/fake-upstream.js'

function cacheConfig(upstream: FakeUpstream) {
  return {
    providers: { up: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream' } },
    models: [{ name: 'fast', targets: [{ provider: 'up', model: 'gpt-test' }] }],
    cache: { enabled: true },
  }
}

const question = (extra: Record<string, unknown> = {}) => ({
  model: 'fast',
  temperature: 0,
  stream: true,
  messages: [{ role: 'user', content: 'Tell me a story' }],
  ...extra,
})

async function postStream(origin: string, body: unknown) {
  const res = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, cache: res.headers.get('x-anygate-cache'), events: parseSse(await res.text()) }
}

interface ChunkEvent {
  choices: { delta: { content?: string } }[]
  usage?: { total_tokens: number } | null
}

const textOf = (events: unknown[]) =>
  events
    .filter((e): e is ChunkEvent => e !== '[DONE]')
    .map((e) => e.choices[0]?.delta.content ?? '')
    .join('')

describe('streams in the response cache', () => {
  it('replays a completed stream, read by the official openai SDK', async () => {
    const upstream = await startFakeUpstream((_req, res) => streamAnswer(res, ['Once ', 'upon ', 'a time']))
    const { origin } = await listenTestApp(cacheConfig(upstream))
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${origin}/v1`, maxRetries: 0 })
    const read = async () => {
      const { data: stream, response } = await client.chat.completions
        .create({
          model: 'fast',
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'Tell me a story' }],
        })
        .withResponse()
      let text = ''
      let usage: OpenAI.CompletionUsage | null | undefined
      let finish: string | null | undefined
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        finish ??= chunk.choices[0]?.finish_reason
        if (chunk.usage) usage = chunk.usage
      }
      return { text, usage, finish, cache: response.headers.get('x-anygate-cache') }
    }
    const live = await read()
    const replayed = await read()
    expect(live).toMatchObject({ text: 'Once upon a time', finish: 'stop', cache: 'MISS' })
    expect(replayed).toEqual({ ...live, cache: 'HIT' })
    expect(replayed.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 })
    expect(upstream.requests).toHaveLength(1)
  })

  it('keeps the usage chunk and sends it only to clients that asked for it', async () => {
    const upstream = await startFakeUpstream((_req, res) => streamAnswer(res))
    const { origin } = await listenTestApp(cacheConfig(upstream))
    const live = await postStream(origin, question())
    expect(live.cache).toBe('MISS')
    expect(live.events.at(-1)).toBe('[DONE]')
    expect(live.events.some((e) => e !== '[DONE]' && (e as ChunkEvent).usage)).toBe(false)

    const withUsage = await postStream(origin, question({ stream_options: { include_usage: true } }))
    expect(withUsage.cache).toBe('HIT')
    expect(withUsage.events.at(-2)).toMatchObject({ choices: [], usage: { total_tokens: 10 } })
    expect(withUsage.events.at(-1)).toBe('[DONE]')

    const without = await postStream(origin, question())
    expect(without).toEqual({ ...live, cache: 'HIT' })
    expect(textOf(without.events)).toBe('Hello')
    expect(upstream.requests).toHaveLength(1)
  })

  it('stores a JSON answer and a stream apart', async () => {
    const upstream = await startFakeUpstream((req, res) => {
      if ((req.body as { stream?: boolean }).stream) return streamAnswer(res)
      sendJson(res, 200, { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [] })
    })
    const { origin } = await listenTestApp(cacheConfig(upstream))
    await postStream(origin, question())
    const json = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(question({ stream: false })),
    })
    expect(json.headers.get('x-anygate-cache')).toBe('MISS')
    expect(json.headers.get('content-type')).toMatch(/^application\/json/)
    expect(upstream.requests).toHaveLength(2)
  })

  it('never stores a stream that failed mid-way', async () => {
    let breakIt = true
    const upstream = await startFakeUpstream((_req, res) => {
      if (!breakIt) return streamAnswer(res)
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'Hel' })))
      // The connection drops before the answer is finished.
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const { origin } = await listenTestApp(cacheConfig(upstream))
    const failed = await postStream(origin, question())
    expect(failed.events.at(-1)).toMatchObject({ error: { code: expect.any(String) } })
    breakIt = false
    const next = await postStream(origin, question())
    expect(next.cache).toBe('MISS')
    expect(textOf(next.events)).toBe('Hello')
    expect((await postStream(origin, question())).cache).toBe('HIT')
    expect(upstream.requests).toHaveLength(2)
  })

  it('never stores a stream the client aborted', async () => {
    let hold = true
    const upstream = await startFakeUpstream((_req, res) => {
      if (!hold) return streamAnswer(res)
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'Hel' })))
      // ...and the rest never comes: the client gives up first.
    })
    const { origin } = await listenTestApp(cacheConfig(upstream))
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)))
      req.end(JSON.stringify(question()))
    })
    // The gateway hung up on the upstream: the stream has ended on its side too.
    await upstream.requests[0]!.ended
    expect(upstream.requests[0]!.aborted).toBe(true)
    hold = false
    const next = await postStream(origin, question())
    expect(next.cache).toBe('MISS')
    expect((await postStream(origin, question())).cache).toBe('HIT')
    expect(upstream.requests).toHaveLength(2)
  })
})

describe('StreamRecorder', () => {
  const record = (maxBytes: number, chunks: object[], completed: boolean) => {
    const saved: string[][] = []
    const recorder = new StreamRecorder(maxBytes, (texts) => saved.push(texts))
    for (const chunk of chunks) recorder.chunk(chunk, JSON.stringify(chunk))
    recorder.end(completed)
    return saved
  }

  it('keeps each chunk as the client got it', () => {
    const saved: string[][] = []
    const recorder = new StreamRecorder(1000, (texts) => saved.push(texts))
    recorder.chunk({ a: 1, b: 2 }, '{"b":2,"a":1}')
    recorder.chunk({ d: 4 }, '{"d":4}')
    recorder.end(true)
    expect(saved).toEqual([['{"b":2,"a":1}', '{"d":4}']])
  })

  it('saves nothing for a stream that did not complete, or that outgrew max_entry_bytes', () => {
    expect(record(1000, [{ a: 1 }], false)).toEqual([])
    expect(record(10, [{ a: 'x' }, { a: 'xxxxxxxx' }, { a: 1 }], true)).toEqual([])
  })
})
