// Each call's cost, from the usage a real (loopback) upstream reported and the price of the target
// that served it: chat as JSON and as a stream, embeddings, /v1/messages natively and translated.
// The cost is read where the metrics plugin reads it: request.gateway.costUsd in an onResponse
// hook registered after the spend plugin, synchronously.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import type { TokenUsage } from '../plugins/call-record.js'
import { anthropicMessage, startFakeAnthropic } from './anthropic-fake.js'
import { chatBody } from './helpers/app.js'
import { buildSpendApp, pricedModel, startUsageUpstream, upstreamConfig } from './spend-helpers.js'

interface Seen {
  url: string
  costUsd: number | undefined
  cache: string | undefined
}

/** An app whose calls' request.gateway.costUsd are recorded as a later onResponse hook sees them. */
async function watchedApp(raw: Record<string, unknown>) {
  const seen: Seen[] = []
  const setup = (app: FastifyInstance) =>
    app.addHook('onResponse', (request, _reply, done) => {
      if (request.gateway) {
        seen.push({ url: request.url, costUsd: request.gateway.costUsd, cache: request.gateway.cache })
      }
      done()
    })
  return { ...(await buildSpendApp(raw, { setup })), seen }
}

// 1000 prompt tokens of which 200 cached, 100 completion tokens.
const usage = { prompt: 1000, completion: 100, cachedPrompt: 200 }

/** watchedApp on an upstream that reports `reported` for every call; `sections` amend the config. */
async function watchedUpstreamApp(reported: TokenUsage = usage, sections: Record<string, unknown> = {}) {
  const upstream = await startUsageUpstream(() => reported)
  return { upstream, ...(await watchedApp({ ...upstreamConfig(upstream), ...sections })) }
}

const post = (app: FastifyInstance, url: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url, payload })

describe('cost of OpenAI-format calls', () => {
  it('prices a JSON chat completion from its usage at the dated model’s base price', async () => {
    const { app, seen } = await watchedUpstreamApp()
    const response = await post(app, '/v1/chat/completions', chatBody('smart'))
    expect(response.statusCode).toBe(200)
    // gpt-4o: 800 × $2.50 + 200 × $1.25 + 100 × $10 per million.
    expect(seen).toEqual([{ url: '/v1/chat/completions', costUsd: 0.00325, cache: 'BYPASS' }])
  })

  it('prices a stream once its usage chunk passed, the client not having asked for usage', async () => {
    const { app, seen, upstream } = await watchedUpstreamApp()
    const response = await post(app, '/v1/chat/completions', chatBody('smart', 'hi', { stream: true }))
    expect(response.statusCode).toBe(200)
    expect(response.body).not.toContain('"usage":{')
    expect((upstream.requests[0]!.body as { stream_options?: unknown }).stream_options).toEqual({
      include_usage: true,
    })
    expect(seen.map((s) => s.costUsd)).toEqual([0.00325])
  })

  it('prices embeddings at input only', async () => {
    const { app, seen } = await watchedUpstreamApp({ prompt: 5000, completion: 0, cachedPrompt: 0 })
    const response = await post(app, '/v1/embeddings', { model: 'embed', input: 'some text' })
    expect(response.statusCode).toBe(200)
    // text-embedding-3-small: 5000 × $0.02 per million.
    expect(seen.map((s) => s.costUsd)).toEqual([0.0001])
  })

  it("uses a target's own price, cached_input_per_mtok included, over the table", async () => {
    const { app, seen } = await watchedUpstreamApp(usage, {
      models: [
        pricedModel('smart', 'gpt-4o', { input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 0.5 }),
      ],
    })
    await post(app, '/v1/chat/completions', chatBody('smart'))
    // A direct `<provider>/<model>` call does not go through the public model: table price.
    await post(app, '/v1/chat/completions', chatBody('up/gpt-4o'))
    expect(seen.map((s) => s.costUsd)).toEqual([(800 * 1 + 200 * 0.5 + 100 * 2) / 1e6, 0.00325])
  })

  it('prices pricing.models entries and costs a cache hit nothing', async () => {
    const { app, seen, upstream } = await watchedUpstreamApp(usage, {
      pricing: { models: { 'gpt-4o': { input: 10, output: 10 } } },
      cache: { enabled: true },
    })
    const body = chatBody('smart', 'cache me', { temperature: 0 })
    const first = await post(app, '/v1/chat/completions', body)
    const second = await post(app, '/v1/chat/completions', body)
    expect([first.headers['x-anygate-cache'], second.headers['x-anygate-cache']]).toEqual(['MISS', 'HIT'])
    expect(seen.map((s) => [s.cache, s.costUsd])).toEqual([
      ['MISS', 0.011],
      ['HIT', 0],
    ])
    expect(upstream.requests).toHaveLength(1)
  })

  it('leaves the cost unknown for an unpriced model and warns once for it, not per call', async () => {
    const { app, logs, seen } = await watchedUpstreamApp()
    for (let i = 0; i < 3; i++) await post(app, '/v1/chat/completions', chatBody('up/house-model-7b'))
    expect(seen.map((s) => s.costUsd)).toEqual([undefined, undefined, undefined])
    const warnings = logs.filter((line) => String(line.msg).startsWith('no price for up/house-model-7b'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 40, provider: 'up', upstream_model: 'house-model-7b' })
  })

  it('sets no cost for a call that failed', async () => {
    const { app, seen } = await watchedApp({
      providers: { mock: { type: 'mock' } },
      models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
    })
    const response = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'x-mock-error': '500' },
      payload: chatBody('echo'),
    })
    expect(response.statusCode).toBeGreaterThanOrEqual(500)
    expect(seen).toEqual([])
  })
})

describe('cost of /v1/messages calls', () => {
  const apiKey = 'sk-ant-upstream-secret-key'
  const anthropicUsage = {
    input_tokens: 1000,
    output_tokens: 100,
    cache_read_input_tokens: 500,
    cache_creation_input_tokens: 0,
  }

  async function anthropicApp() {
    const upstream = await startFakeAnthropic(
      () => ({ message: anthropicMessage([{ type: 'text', text: 'Hi there' }], { usage: anthropicUsage }) }),
      { apiKey },
    )
    return watchedApp({
      providers: { claude: { type: 'anthropic', base_url: upstream.origin, api_key: apiKey } },
      models: [{ name: 'sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5-20250929' }] }],
    })
  }

  const messagesBody = (stream: boolean) => ({
    model: 'sonnet',
    max_tokens: 100,
    stream,
    messages: [{ role: 'user', content: 'Hello' }],
  })

  // Anthropic's input_tokens leave the cache reads out: 1000 at $3 + 500 read at $0.30 + 100 at $15.
  const expected = (1000 * 3 + 500 * 0.3 + 100 * 15) / 1e6

  it('prices a native JSON answer, cache reads at the cached rate', async () => {
    const { app, seen } = await anthropicApp()
    const response = await post(app, '/v1/messages', messagesBody(false))
    expect(response.statusCode).toBe(200)
    expect(seen.map((s) => s.costUsd)).toEqual([expected])
  })

  it('prices a native stream from its message_start and message_delta usage', async () => {
    const { app, seen } = await anthropicApp()
    const response = await post(app, '/v1/messages', messagesBody(true))
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('message_stop')
    expect(seen.map((s) => s.costUsd)).toEqual([expected])
  })

  it('prices /v1/messages served by an OpenAI-format upstream', async () => {
    const { app, seen } = await watchedUpstreamApp()
    const response = await post(app, '/v1/messages', { ...messagesBody(true), model: 'smart' })
    expect(response.statusCode).toBe(200)
    expect(seen.map((s) => s.costUsd)).toEqual([0.00325])
  })
})
