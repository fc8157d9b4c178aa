import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody } from './helpers/app.js'
import { sendJson, startFakeUpstream } from './helpers/fake-upstream.js'

describe('request logging', () => {
  it('writes one structured line per request with id, route, model, provider, status and latency', async () => {
    const { app, logs } = await buildTestApp()
    await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'x-request-id': 'req-abc-123' },
      payload: chatBody('mock/echo'),
    })
    const lines = logs.filter((l) => l.msg === 'request completed')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      request_id: 'req-abc-123',
      method: 'POST',
      route: '/v1/chat/completions',
      status: 200,
      model: 'mock/echo',
      provider: 'mock',
      upstream_model: 'echo',
    })
    expect(typeof lines[0]?.latency_ms).toBe('number')
  })

  it('echoes a sane x-request-id and replaces one that could forge log lines', async () => {
    const { app } = await buildTestApp()
    const echoed = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'trace-42' },
    })
    expect(echoed.headers['x-request-id']).toBe('trace-42')
    const forged = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'a"\\nfake' },
    })
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    const generated = await app.inject({ method: 'GET', url: '/health/live' })
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('never writes provider keys or client keys to the log, even at debug level', async () => {
    const providerKey = 'sk-provider-never-logged-98765'
    const clientKey = 'sk-client-never-logged-12345'
    const upstream = await startFakeUpstream((_req, res) =>
      sendJson(res, 401, { error: { message: `Incorrect API key provided: ${providerKey}` } }),
    )
    const { app, rawLogs } = await buildTestApp({
      auth: { master_key: clientKey },
      providers: { up: { type: 'openai', base_url: upstream.url, api_key: providerKey } },
    })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${clientKey}` },
      payload: chatBody('up/m'),
    })
    expect(res.statusCode).toBe(401)
    const everything = rawLogs.join('') + res.body + JSON.stringify(res.headers)
    expect(rawLogs.length).toBeGreaterThan(0)
    expect(everything).not.toContain(providerKey)
    expect(everything).not.toContain(clientKey)
  })
})
