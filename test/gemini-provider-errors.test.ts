// Gemini failures end to end: what the official openai SDK raises when the fake Gemini API refuses,
// fails mid-stream or is asked for what it cannot take.
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { type FakeGeminiScript, startFakeGemini } from './fixtures/gemini/fake-gemini.js'
import { providerKey, scripted, setup, textAnswer, upstreamModel } from './fixtures/gemini/gateway-setup.js'
import { listenTestApp } from './helpers/app.js'

describe('gemini provider errors through the gateway', () => {
  const failing =
    (code: number, status: string, message: string, details?: unknown[]): FakeGeminiScript =>
    () => ({
      error: { code, status, message, details },
    })

  it('passes a 429 on as RateLimitError with retry-after from RetryInfo, rounded up to whole seconds', async () => {
    const { client } = await setup(
      failing(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', [
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.4s' },
      ]),
    )
    const error = await client.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1')
    expect((error as Error).message).toContain(
      `gem (model ${upstreamModel}) returned 429 RESOURCE_EXHAUSTED: Quota exceeded.`,
    )
  })

  it('reports an unknown model as model_not_found and a rejected provider key as 401', async () => {
    const notFound = await setup(
      failing(404, 'NOT_FOUND', `models/${upstreamModel} is not found for API version v1beta.`),
    )
    const missing = await notFound.client.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect(missing).toMatchObject({ code: 'model_not_found', param: 'model' })
    const upstream = await startFakeGemini(scripted, { apiKey: 'AIza-some-other-key' })
    const gateway = await listenTestApp({
      providers: { gem: { type: 'gemini', base_url: upstream.origin, api_key: providerKey } },
      models: [],
    })
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gateway.origin}/v1`, maxRetries: 0 })
    const rejected = await client.chat.completions
      .create({ model: `gem/${upstreamModel}`, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(rejected).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((rejected as Error).message).not.toContain(providerKey)
  })

  it('refuses what Gemini cannot take before calling it, naming the field', async () => {
    const { upstream, client } = await setup()
    const tool: OpenAI.ChatCompletionTool = {
      type: 'function',
      function: {
        name: 'f',
        parameters: {
          type: 'object',
          properties: { v: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
        },
      },
    }
    const error = await client.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }], tools: [tool] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({
      param: 'tools[0].function.parameters.properties.v.oneOf',
      code: 'unsupported_feature',
    })
    expect(upstream.requests).toHaveLength(0)
  })

  it('ends a stream with an error event when Gemini fails mid-stream or stops without a finishReason', async () => {
    const midStream = await setup(() => ({
      chunks: [
        textAnswer('Hel', {
          candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }],
        }),
        { error: { code: 500, status: 'INTERNAL', message: 'An internal error has occurred.' } },
      ],
    }))
    const read = async (client: OpenAI) => {
      const stream = await client.chat.completions.create({
        model: 'smart',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      })
      for await (const _ of stream) {
      }
    }
    await expect(read(midStream.client)).rejects.toMatchObject({
      message: expect.stringContaining('sent an error mid-stream (INTERNAL)'),
    })
    const truncated = await setup(() => ({
      chunks: [{ candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }] }],
    }))
    await expect(read(truncated.client)).rejects.toMatchObject({
      message: expect.stringContaining('before candidate 0 finished'),
    })
  })
})
