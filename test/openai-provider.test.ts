import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody, listenTestApp, parseSse } from './helpers/app.js'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
  type UpstreamHandler,
} from './helpers/fake-upstream.js'

const providerKey = 'sk-provider-secret-abcdef123456'

function configFor(upstream: FakeUpstream, provider: Record<string, unknown> = {}) {
  return {
    auth: { master_key: 'sk-gateway-key-0001' },
    // One attempt per request: these tests read the provider's own mapping, not the router's retries.
    routing: { retries: 0 },
    providers: {
      up: { type: 'openai', base_url: upstream.url, api_key: providerKey, models: ['gpt-*'], ...provider },
    },
    models: [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-upstream-1' }] }],
  }
}

const clientHeaders = { authorization: 'Bearer sk-gateway-key-0001' }

async function setup(handler: UpstreamHandler, provider: Record<string, unknown> = {}) {
  const upstream = await startFakeUpstream(handler)
  const built = await buildTestApp(configFor(upstream, provider))
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    built.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { ...clientHeaders, ...headers },
      payload: payload as object,
    })
  return { upstream, ...built, post }
}

describe('openai provider: what the upstream receives', () => {
  it('gets the upstream model, the provider key (never the client key) and every unknown field', async () => {
    const { upstream, post } = await setup((_req, res) => sendJson(res, 200, completionBody('hi')))
    const res = await post(
      chatBody('smart', 'hello', { some_future_param: { nested: [1, 2] }, temperature: 0.3 }),
    )
    expect(res.statusCode).toBe(200)
    const [seen] = upstream.requests
    expect(seen?.url).toBe('/v1/chat/completions')
    expect(seen?.headers.authorization).toBe(`Bearer ${providerKey}`)
    expect(JSON.stringify(seen?.headers)).not.toContain('sk-gateway-key-0001')
    expect(seen?.body).toEqual({
      model: 'gpt-upstream-1',
      messages: [{ role: 'user', content: 'hello' }],
      some_future_param: { nested: [1, 2] },
      temperature: 0.3,
    })
    expect(res.headers['x-anygate-model']).toBe('gpt-upstream-1')
  })

  it('routes bare model names by the provider models globs', async () => {
    const { upstream, post } = await setup((_req, res) => sendJson(res, 200, completionBody('hi')))
    expect((await post(chatBody('gpt-4o-mini'))).statusCode).toBe(200)
    expect((upstream.requests[0]!.body as { model: string }).model).toBe('gpt-4o-mini')
  })

  it('passes fields the upstream adds to its answer through to the client', async () => {
    const { post } = await setup((_req, res) =>
      sendJson(
        res,
        200,
        completionBody('hi', 'gpt-test', { system_fingerprint: 'fp_1', vendor_extra: { a: 1 } }),
      ),
    )
    const body = (await post(chatBody('smart'))).json()
    expect(body.vendor_extra).toEqual({ a: 1 })
    expect(body.system_fingerprint).toBe('fp_1')
  })

  it('asks for stream usage upstream and strips it when the client did not ask', async () => {
    const { upstream, post } = await setup((_req, res) => streamAnswer(res))
    const res = await post(chatBody('smart', 'hello', { stream: true }))
    expect((upstream.requests[0]!.body as Record<string, unknown>).stream_options).toEqual({
      include_usage: true,
    })
    const events = parseSse(res.body)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1) as Record<string, unknown>[]
    expect(chunks).toHaveLength(4)
    // The usage-only chunk is dropped; the others are relayed as written (`usage: null`).
    expect(chunks.every((c) => c.usage === null)).toBe(true)
  })

  it('keeps the upstream connection after a finished stream instead of aborting it', async () => {
    const { upstream, post } = await setup((_req, res) => streamAnswer(res))
    for (let i = 0; i < 3; i++) {
      await post(chatBody('smart', 'hello', { stream: true }))
      await upstream.requests[i]?.ended
      await sleep(20)
    }
    expect(upstream.requests.map((r) => r.aborted)).toEqual([false, false, false])
    expect(new Set(upstream.requests.map((r) => r.remotePort)).size).toBe(1)
  })

  it('sends stream_options only when the provider allows it (options.stream_usage: false)', async () => {
    const { upstream, post } = await setup((_req, res) => streamAnswer(res), {
      options: { stream_usage: false },
    })
    await post(chatBody('smart', 'hello', { stream: true }))
    expect((upstream.requests[0]!.body as Record<string, unknown>).stream_options).toBeUndefined()
  })

  it('passes tool-call deltas through unchanged', async () => {
    const toolDeltas = [
      chunkBody({
        role: 'assistant',
        content: null,
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      }),
      chunkBody({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunkBody({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunkBody({}, 'tool_calls'),
    ]
    const { post } = await setup((_req, res) => {
      startSse(res)
      for (const chunk of toolDeltas) res.write(sseData(chunk))
      res.end(sseData('[DONE]'))
    })
    const events = parseSse((await post(chatBody('smart', 'weather?', { stream: true }))).body)
    expect(events[0]).toEqual(toolDeltas[0])
    expect(events).toHaveLength(5)
  })
})

describe('openai provider: upstream failures', () => {
  it('passes a 4xx through with its status and message, naming provider and model', async () => {
    const { post } = await setup((_req, res) =>
      sendJson(res, 400, {
        error: {
          message: 'Invalid schema for function',
          type: 'invalid_request_error',
          param: 'tools[0]',
          code: null,
        },
      }),
    )
    const res = await post(chatBody('smart'))
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', param: 'tools[0]' })
    expect(res.json().error.message).toBe(
      'up (model gpt-upstream-1) returned 400: Invalid schema for function',
    )
  })

  it('keeps Retry-After on 429 and marks context overflows', async () => {
    let call = 0
    const { post } = await setup((_req, res) => {
      call++
      if (call === 1) sendJson(res, 429, { error: { message: 'Rate limit reached' } }, { 'retry-after': '7' })
      else sendJson(res, 400, { error: { message: "This model's maximum context length is 8192 tokens" } })
    })
    const limited = await post(chatBody('smart'))
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('7')
    expect(limited.json().error.type).toBe('rate_limit_error')
    const tooLong = await post(chatBody('smart'))
    expect(tooLong.json().error.code).toBe('context_length_exceeded')
  })

  it('maps upstream 5xx to 502/503 and never leaks the provider key it echoes', async () => {
    const { post, rawLogs } = await setup((_req, res) =>
      sendJson(res, 500, { error: { message: `internal failure for key ${providerKey}` } }),
    )
    const res = await post(chatBody('smart'))
    expect(res.statusCode).toBe(502)
    expect(res.body).not.toContain(providerKey)
    expect(res.json().error.message).toContain('[redacted]')
    expect(rawLogs.join('')).not.toContain(providerKey)
  })

  it('answers 502 for a 200 HTML page and for invalid JSON', async () => {
    let call = 0
    const { post } = await setup((_req, res) => {
      call++
      if (call === 1) {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<html>Bad gateway</html>')
      } else {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"id": "x", "choices": [')
      }
    })
    const html = await post(chatBody('smart'))
    expect(html.statusCode).toBe(502)
    expect(html.json().error.code).toBe('upstream_bad_response')
    const broken = await post(chatBody('smart'))
    expect(broken.statusCode).toBe(502)
  })

  it('answers 502 when the upstream cannot be reached', async () => {
    const upstream = await startFakeUpstream(() => {})
    await upstream.close()
    const { app } = await buildTestApp(configFor(upstream))
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: clientHeaders,
      payload: chatBody('smart'),
    })
    expect(res.statusCode).toBe(502)
    expect(res.json().error.code).toBe('upstream_unreachable')
  })

  it('answers 504 when the upstream stalls before the first byte', async () => {
    const { post } = await setup(async () => {}, { timeouts: { first_byte_ms: 200 } })
    const started = Date.now()
    const res = await post(chatBody('smart'))
    expect(res.statusCode).toBe(504)
    expect(res.json().error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('ends a stream with an error event when the upstream stalls mid-stream', async () => {
    const { post } = await setup(
      (_req, res) => {
        startSse(res)
        res.write(sseData(chunkBody({ role: 'assistant', content: 'Hi' })))
      },
      { timeouts: { first_byte_ms: 300 } },
    )
    const events = parseSse((await post(chatBody('smart', 'x', { stream: true }))).body)
    expect(events[0]).toMatchObject({ choices: [{ delta: { content: 'Hi' } }] })
    expect(events.at(-1)).toMatchObject({ error: { code: 'upstream_timeout' } })
  })

  it('ends a truncated stream with an error event, not [DONE]', async () => {
    const { post } = await setup((_req, res) => {
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'Hi' })))
      res.end('data: {"id": "trunc')
    })
    const events = parseSse((await post(chatBody('smart', 'x', { stream: true }))).body)
    expect(events).not.toContain('[DONE]')
    expect(events.at(-1)).toMatchObject({ error: { type: 'upstream_error' } })
  })

  it('relays an error event the upstream sends mid-stream', async () => {
    const { post } = await setup((_req, res) => {
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'Hi' })))
      res.end(
        sseData({
          error: { message: 'The server had an error while processing your request.', type: 'server_error' },
        }),
      )
    })
    const events = parseSse((await post(chatBody('smart', 'x', { stream: true }))).body)
    expect(events.at(-1)).toMatchObject({
      error: { message: expect.stringContaining('The server had an error') },
    })
  })
})

describe('openai provider: client disconnects', () => {
  it('aborts the upstream call when the client leaves mid-stream', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      for (let i = 0; i < 200 && !res.destroyed; i++) {
        res.write(sseData(chunkBody({ content: `piece ${i} ` })))
        await sleep(20)
      }
      res.end(sseData('[DONE]'))
    })
    const { origin } = await listenTestApp(configFor(upstream))
    const controller = new AbortController()
    const response = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...clientHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('smart', 'x', { stream: true })),
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    await upstream.requests[0]?.ended
    expect(upstream.requests[0]?.aborted).toBe(true)
  })

  it('aborts the upstream call when the client leaves before a non-stream answer', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      await sleep(3000)
      if (!res.destroyed) sendJson(res, 200, completionBody('late'))
    })
    const { origin } = await listenTestApp(configFor(upstream))
    const controller = new AbortController()
    const pending = fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...clientHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('smart')),
      signal: controller.signal,
    }).catch((err: Error) => err)
    while (upstream.requests.length === 0) await sleep(10)
    controller.abort()
    await pending
    await upstream.requests[0]?.ended
    expect(upstream.requests[0]?.aborted).toBe(true)
  })
})

describe('embeddings through an openai provider', () => {
  it('forwards the request and returns the upstream vectors', async () => {
    const { upstream, app } = await setup((_req, res) =>
      sendJson(res, 200, {
        object: 'list',
        model: 'text-embedding-3-small',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
        usage: { prompt_tokens: 2, total_tokens: 2 },
      }),
    )
    const res = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: clientHeaders,
      payload: { model: 'up/text-embedding-3-small', input: ['a', 'b'], dimensions: 2 },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data[0].embedding).toEqual([0.1, 0.2])
    expect(upstream.requests[0]?.url).toBe('/v1/embeddings')
    expect(upstream.requests[0]?.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      dimensions: 2,
    })
  })
})
