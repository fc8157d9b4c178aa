// The usage log through the whole app: a loopback OpenAI upstream, calls with the master key, a
// virtual key and none, JSON, streamed, cached and failing; then the exact JSON lines in the file.
// With logging.bodies the request and answer are there too, redacted; without, they never are.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { testConfig } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
} from './helpers/fake-upstream.js'

const masterKey = 'master-secret-usage-log-0123456789'
const providerKey = 'sk-provider-secret-usage-log-AAAA1111'
const now = Date.parse('2025-03-01T12:00:00.000Z')
const price = { input_per_mtok: 1, output_per_mtok: 2 }

async function startUpstream(): Promise<FakeUpstream> {
  return startFakeUpstream(async (req, res) => {
    const body = req.body as { model: string; stream?: boolean }
    if (req.url.endsWith('/embeddings')) {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [0.25, 0.5, 0.75] }],
        model: body.model,
        usage: { prompt_tokens: 4, total_tokens: 4 },
      })
    }
    if (body.model === 'broken-model')
      return sendJson(res, 500, { error: { message: 'boom', type: 'server_error' } })
    if (body.stream && JSON.stringify(req.body).includes('hang up')) {
      // The first piece, and then nothing: the client gives up first.
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: 'Hel' })))
      return
    }
    if (body.stream) return streamAnswer(res, ['Hello', ', write to ops@corp.example'])
    return sendJson(res, 200, completionBody('Reach me at help@corp.example'))
  })
}

function tempLogFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'anygate-usage-'))
  closeAfterTest(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'usage.jsonl')
}

async function gateway(upstream: FakeUpstream, file: string, logging: Record<string, unknown> = {}) {
  const config = testConfig({
    auth: { master_key: masterKey },
    providers: { up: { type: 'openai', base_url: upstream.url, api_key: providerKey } },
    models: [
      { name: 'gpt', targets: [{ provider: 'up', model: 'gpt-test', price }] },
      { name: 'broken', targets: [{ provider: 'up', model: 'broken-model' }] },
    ],
    routing: { retries: 1, backoff_ms: { base: 1, max: 1 } },
    cache: { enabled: true },
    logging: { usage: { enabled: true, destination: file }, ...logging },
  })
  const app = await buildApp(config, { logger: false, spend: { now: () => now } })
  closeAfterTest(() => app.close())
  await app.ready()
  return app
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

function post(
  app: FastifyInstance,
  url: string,
  id: string,
  payload: object,
  key: string | null = masterKey,
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'x-request-id': id, ...(key === null ? {} : bearer(key)) },
    payload,
  })
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt',
  messages: [{ role: 'user', content }],
  ...extra,
})

/** Closes the app (which flushes the log) and reads every line of the file. */
async function recordsAfterClose(app: FastifyInstance, file: string): Promise<Record<string, unknown>[]> {
  await app.close()
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

/** The fields every record has, as they are for a served chat call; each test overrides the rest. */
const base = {
  log: 'usage',
  ts: '2025-03-01T12:00:00.000Z',
  route: '/v1/chat/completions',
  kind: 'chat',
  fallback_from: null,
  error_code: null,
  latency_ms: expect.any(Number),
  stream_error: null,
}

describe('the usage log', () => {
  it('writes one exact record per inference call, without bodies and without any secret', async () => {
    const upstream = await startUpstream()
    const file = tempLogFile()
    const app = await gateway(upstream, file)
    const created = await app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: bearer(masterKey),
      payload: { name: 'team-a' },
    })
    expect(created.statusCode, created.body).toBe(201)
    const virtual = created.json() as { id: string; key: string }

    expect((await post(app, '/v1/chat/completions', 'req-json', chat('hi'))).statusCode).toBe(200)
    const streamed = chat('stream it', { stream: true, temperature: 0 })
    const miss = await post(app, '/v1/chat/completions', 'req-stream', streamed)
    expect(miss.headers['x-anygate-cache']).toBe('MISS')
    const hit = await post(app, '/v1/chat/completions', 'req-hit', streamed)
    expect(hit.headers['x-anygate-cache']).toBe('HIT')
    const failed = await post(app, '/v1/chat/completions', 'req-error', { ...chat('x'), model: 'broken' })
    expect(failed.statusCode).toBe(502)
    expect((await post(app, '/v1/chat/completions', 'req-virtual', chat('hi'), virtual.key)).statusCode).toBe(
      200,
    )
    expect((await post(app, '/v1/chat/completions', 'req-anonymous', chat('hi'), null)).statusCode).toBe(401)
    const embedded = await post(app, '/v1/embeddings', 'req-embed', {
      model: 'up/text-embed',
      input: 'words',
    })
    expect(embedded.statusCode).toBe(200)
    // Not an inference route: never in the usage log.
    expect(
      (await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(masterKey) })).statusCode,
    ).toBe(200)
    expect(upstream.requests).toHaveLength(6)

    const records = await recordsAfterClose(app, file)
    const served = {
      provider: 'up',
      upstream_model: 'gpt-test',
      attempts: 1,
      status: 200,
      ttft_ms: expect.any(Number),
    }
    const master = { key_id: 'master', key_name: 'master' }
    const usage = { prompt_tokens: 7, completion_tokens: 3, cached_prompt_tokens: 0, cost_usd: 0.000013 }
    expect(records).toEqual([
      {
        ...base,
        ...master,
        ...served,
        ...usage,
        request_id: 'req-json',
        model: 'gpt',
        stream: false,
        cache: 'BYPASS',
      },
      {
        ...base,
        ...master,
        ...served,
        ...usage,
        request_id: 'req-stream',
        model: 'gpt',
        stream: true,
        cache: 'MISS',
      },
      {
        ...base,
        ...master,
        ...served,
        ...usage,
        request_id: 'req-hit',
        model: 'gpt',
        attempts: 0,
        stream: true,
        cache: 'HIT',
        cost_usd: 0,
      },
      {
        ...base,
        ...master,
        request_id: 'req-error',
        model: 'broken',
        provider: 'up',
        upstream_model: 'broken-model',
        attempts: 2,
        stream: false,
        cache: 'BYPASS',
        status: 502,
        error_code: 'upstream_error',
        prompt_tokens: null,
        completion_tokens: null,
        cached_prompt_tokens: null,
        cost_usd: null,
        ttft_ms: null,
      },
      {
        ...base,
        ...served,
        ...usage,
        request_id: 'req-virtual',
        key_id: virtual.id,
        key_name: 'team-a',
        model: 'gpt',
        stream: false,
        cache: 'BYPASS',
      },
      {
        // Refused before the body was read: only what the request line and the answer tell.
        ...base,
        request_id: 'req-anonymous',
        key_id: null,
        key_name: null,
        model: null,
        provider: null,
        upstream_model: null,
        attempts: null,
        stream: false,
        cache: 'BYPASS',
        status: 401,
        error_code: 'invalid_api_key',
        prompt_tokens: null,
        completion_tokens: null,
        cached_prompt_tokens: null,
        cost_usd: null,
        ttft_ms: null,
      },
      {
        ...base,
        ...master,
        ...served,
        request_id: 'req-embed',
        route: '/v1/embeddings',
        kind: 'embeddings',
        model: 'up/text-embed',
        upstream_model: 'text-embed',
        stream: false,
        cache: 'MISS',
        prompt_tokens: 4,
        completion_tokens: 0,
        cached_prompt_tokens: 0,
        cost_usd: null,
      },
    ])
    for (const record of records) {
      expect(record.latency_ms).toBeGreaterThanOrEqual(0)
      expect(record).not.toHaveProperty('request')
      expect(record).not.toHaveProperty('response')
    }
    // Streams are timed to their first chunk, which comes before the last.
    expect(records[1]!.ttft_ms as number).toBeLessThanOrEqual(records[1]!.latency_ms as number)
    const text = readFileSync(file, 'utf8')
    for (const secret of [masterKey, providerKey, virtual.key]) expect(text).not.toContain(secret)
    expect(text).not.toMatch(/authorization/i)
    expect(app.usageLog?.stats()).toEqual({ written: 7, dropped: 0 })
  })

  it('with bodies on, logs the request and the answer redacted: JSON, streamed, Messages and embeddings', async () => {
    const upstream = await startUpstream()
    const file = tempLogFile()
    const app = await gateway(upstream, file, { bodies: true })
    const created = await app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: bearer(masterKey),
      payload: { name: 'team-b' },
    })
    const virtual = created.json() as { id: string; key: string }
    const prompt =
      `I am jane.doe@example.com, card 4242 4242 4242 4242, my key is ${providerKey} ` +
      `and my gateway key ${virtual.key}; order 1234 5678 9012 3456.`

    const json = await post(
      app,
      '/v1/chat/completions',
      'b-json',
      chat(prompt, { temperature: 0.5 }),
      virtual.key,
    )
    expect(json.statusCode).toBe(200)
    const stream = await post(app, '/v1/chat/completions', 'b-stream', chat(prompt, { stream: true }))
    expect(stream.statusCode).toBe(200)
    const messages = await post(app, '/v1/messages', 'b-messages', {
      model: 'gpt',
      max_tokens: 64,
      messages: [{ role: 'user', content: prompt }],
    })
    expect(messages.statusCode, messages.body).toBe(200)
    await post(app, '/v1/embeddings', 'b-embed', { model: 'up/text-embed', input: ['mail bob@example.org'] })
    await post(app, '/v1/chat/completions', 'b-error', { ...chat(prompt), model: 'broken' })

    const records = await recordsAfterClose(app, file)
    const byId = Object.fromEntries(records.map((r) => [r.request_id, r]))
    const redacted =
      'I am [redacted], card [redacted], my key is [redacted] and my gateway key [redacted]; order 1234 5678 9012 3456.'

    expect(byId['b-json']).toMatchObject({ key_id: virtual.id, status: 200 })
    expect(byId['b-json']!.request).toEqual({
      model: 'gpt',
      messages: [{ role: 'user', content: redacted }],
      temperature: 0.5,
    })
    expect(byId['b-json']!.request_truncated).toBe(false)
    const answer = completionBody('Reach me at [redacted]')
    expect(byId['b-json']!.response).toEqual(answer)
    expect(byId['b-json']!.response_truncated).toBe(false)

    expect(byId['b-stream']!.request).toEqual({
      model: 'gpt',
      messages: [{ role: 'user', content: redacted }],
      stream: true,
    })
    expect(byId['b-stream']!.response).toEqual({
      choices: [
        {
          index: 0,
          content: 'Hello, write to ops@corp.example'.replace('ops@corp.example', '[redacted]'),
          finish_reason: 'stop',
        },
      ],
    })

    expect(byId['b-messages']).toMatchObject({ route: '/v1/messages', kind: 'messages', status: 200 })
    expect((byId['b-messages']!.request as { messages: unknown }).messages).toEqual([
      { role: 'user', content: redacted },
    ])
    expect(byId['b-messages']!.response).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Reach me at [redacted]' }],
    })

    expect(byId['b-embed']!.request).toEqual({ model: 'up/text-embed', input: ['mail [redacted]'] })
    expect(byId['b-embed']!.response).toMatchObject({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: '[3 floats]' }],
    })

    expect(byId['b-error']).toMatchObject({ status: 502, error_code: 'upstream_error' })
    expect(byId['b-error']!.response).toMatchObject({ error: { type: 'upstream_error', code: null } })

    const text = readFileSync(file, 'utf8')
    for (const secret of [masterKey, providerKey, virtual.key, 'jane.doe@example.com', '4242 4242 4242 4242'])
      expect(text).not.toContain(secret)
  })

  it('cuts bodies over max_body_bytes and marks them', async () => {
    const upstream = await startUpstream()
    const file = tempLogFile()
    const app = await gateway(upstream, file, { bodies: true, max_body_bytes: 512 })
    const long = 'é'.repeat(400)
    await post(app, '/v1/chat/completions', 'long-json', chat(long))
    await post(app, '/v1/chat/completions', 'long-stream', chat('hi', { stream: true }))
    const records = await recordsAfterClose(app, file)
    const request = records[0]!.request as string
    expect(records[0]!.request_truncated).toBe(true)
    expect(typeof request).toBe('string')
    expect(request.startsWith('{"model":"gpt","messages":[{"role":"user","content":"éé')).toBe(true)
    expect(Buffer.byteLength(request)).toBeLessThanOrEqual(512)
    expect(Buffer.byteLength(request)).toBeGreaterThan(505)
    expect(records[0]!.response_truncated).toBe(false)
    expect(records[1]).toMatchObject({ request_truncated: false, response_truncated: false })
  })

  it('logs a stream the client hung up on, with what it got so far', async () => {
    const upstream = await startUpstream()
    const file = tempLogFile()
    const app = await gateway(upstream, file, { bodies: true })
    const origin = await app.listen({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'gone', ...bearer(masterKey) },
      })
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)))
      req.end(JSON.stringify(chat('please hang up', { stream: true })))
    })
    await upstream.requests[0]!.ended
    // Written when the socket closed, a turn later; nothing else is in flight.
    for (let i = 0; i < 200 && app.usageLog!.stats().written === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10))
    const records = await recordsAfterClose(app, file)
    expect(records).toEqual([
      {
        ...base,
        key_id: 'master',
        key_name: 'master',
        request_id: 'gone',
        model: 'gpt',
        provider: 'up',
        upstream_model: 'gpt-test',
        attempts: 1,
        stream: true,
        cache: 'BYPASS',
        status: 200,
        prompt_tokens: null,
        completion_tokens: null,
        cached_prompt_tokens: null,
        cost_usd: null,
        ttft_ms: expect.any(Number),
        stream_error: 'client_abort',
        request: chat('please hang up', { stream: true }),
        request_truncated: false,
        response: { choices: [{ index: 0, content: 'Hel', finish_reason: null }] },
        response_truncated: false,
      },
    ])
  })
})
