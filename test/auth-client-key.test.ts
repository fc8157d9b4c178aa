// Hybrid mode: with allow_client_key a client's x-anygate-provider-key replaces the provider's
// configured key for that request only, as each provider sends keys; never echoed or logged, and
// scrubbed from upstream errors. Without the flag the header is a 400 and nothing goes upstream.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { anthropicMessage } from './anthropic-fake.js'
import { buildTestApp, chatBody } from './helpers/app.js'
import { completionBody, type FakeUpstream, sendJson, startFakeUpstream } from './helpers/fake-upstream.js'

const gatewayKey = 'sk-gateway-0123456789abcdef'
const operatorKey = 'sk-operator-key-0000000000'
const clientKey = 'sk-client-own-key-1111111111'

function openaiUpstream(): Promise<FakeUpstream> {
  return startFakeUpstream((req, res) => {
    if (req.headers.authorization === `Bearer ${clientKey}-revoked`) {
      sendJson(res, 401, {
        error: {
          message: `Incorrect API key provided: ${clientKey}-revoked. You can find your API key at https://platform.openai.com.`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      })
      return
    }
    sendJson(res, 200, completionBody('hi'))
  })
}

const chat = (app: FastifyInstance, model: string, providerKey?: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: {
      authorization: `Bearer ${gatewayKey}`,
      ...(providerKey === undefined ? {} : { 'x-anygate-provider-key': providerKey }),
    },
    payload: chatBody(model),
  })

describe('x-anygate-provider-key', () => {
  it('replaces the configured key for that request only on a provider that allows it', async () => {
    const upstream = await openaiUpstream()
    const { app, rawLogs } = await buildTestApp({
      auth: { master_key: gatewayKey },
      providers: {
        byok: { type: 'openai', base_url: upstream.url, api_key: operatorKey, allow_client_key: true },
      },
    })
    const res = await chat(app, 'byok/gpt-test', clientKey)
    expect(res.statusCode, res.body).toBe(200)
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${clientKey}`)
    expect(JSON.stringify(res.headers) + res.body).not.toContain(clientKey)

    expect((await chat(app, 'byok/gpt-test')).statusCode).toBe(200)
    expect(upstream.requests[1]!.headers.authorization).toBe(`Bearer ${operatorKey}`)

    const refused = await chat(app, 'byok/gpt-test', `${clientKey}-revoked`)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error.message).toContain('Incorrect API key provided')
    expect(refused.body).not.toContain(clientKey)
    expect(rawLogs.join('')).not.toContain(clientKey)
    expect(rawLogs.join('')).not.toContain(operatorKey)
  })

  it('is a 400 naming the flag on a provider without allow_client_key, and nothing goes upstream', async () => {
    const upstream = await openaiUpstream()
    const { app } = await buildTestApp({
      auth: { master_key: gatewayKey },
      providers: { shared: { type: 'openai', base_url: upstream.url, api_key: operatorKey } },
    })
    const res = await chat(app, 'shared/gpt-test', clientKey)
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'client_key_not_allowed' })
    expect(res.json().error.message).toContain('providers.shared.allow_client_key')
    expect(res.body).not.toContain(clientKey)
    expect(upstream.requests).toHaveLength(0)
  })

  it('goes as x-api-key to Anthropic and as x-goog-api-key to Gemini', async () => {
    const anthropic = await startFakeUpstream((_req, res) =>
      sendJson(res, 200, anthropicMessage([{ type: 'text', text: 'hi' }])),
    )
    const gemini = await startFakeUpstream((_req, res) =>
      sendJson(res, 200, {
        candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 3 },
      }),
    )
    const { app } = await buildTestApp({
      auth: { master_key: gatewayKey },
      providers: {
        claude: {
          type: 'anthropic',
          base_url: anthropic.origin,
          api_key: operatorKey,
          allow_client_key: true,
        },
        google: { type: 'gemini', base_url: gemini.origin, allow_client_key: true },
      },
    })
    expect((await chat(app, 'claude/claude-test', clientKey)).statusCode).toBe(200)
    expect(anthropic.requests[0]!.headers['x-api-key']).toBe(clientKey)
    expect(anthropic.requests[0]!.headers['anthropic-version']).toBeDefined()
    expect((await chat(app, 'google/gemini-test', clientKey)).statusCode).toBe(200)
    expect(gemini.requests[0]!.headers['x-goog-api-key']).toBe(clientKey)
    // The gateway's own key is never forwarded upstream.
    for (const req of [...anthropic.requests, ...gemini.requests]) {
      expect(JSON.stringify(req.headers)).not.toContain(gatewayKey)
    }
  })
})
