// Fallback models through the real request path: the order upstreams were tried in, and the
// x-anygate-fallback header naming where the request started and what served it.
import { describe, expect, it } from 'vitest'
import {
  buildRoutingApp,
  chat,
  contentOf,
  fail,
  providersFor,
  startUpstreams,
  throttle,
} from './helpers/routing.js'

const quickBackoff = { base: 1, max: 5 }

// OpenAI's answer to an oversized prompt (https://platform.openai.com/docs/guides/error-codes).
const contextOverflow = {
  message:
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. " +
    'Please reduce the length of the messages.',
  type: 'invalid_request_error',
  param: 'messages',
  code: 'context_length_exceeded',
}

// Azure OpenAI's refusal when its content filter blocks a prompt: a 400 with code "content_filter"
// (https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter).
const contentFiltered = {
  message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
  type: null,
  param: 'prompt',
  code: 'content_filter',
}

describe('general fallbacks', () => {
  it('walks a -> b -> c in order when each group fails, and says so in x-anygate-fallback', async () => {
    const { timeline, up } = await startUpstreams('ua', 'ub', 'uc')
    up.ua.always(fail(503))
    up.ub.always(fail(500))
    const app = await buildRoutingApp({
      routing: { retries: 0, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'a', targets: [{ provider: 'ua', model: 'model-a' }], fallbacks: ['b'] },
        { name: 'b', targets: [{ provider: 'ub', model: 'model-b' }], fallbacks: ['c'] },
        { name: 'c', targets: [{ provider: 'uc', model: 'model-c' }] },
      ],
    })
    const res = await chat(app, 'a')
    expect(res.statusCode).toBe(200)
    expect(timeline.names()).toEqual(['ua', 'ub', 'uc'])
    expect(contentOf(res.body)).toBe('from uc')
    expect(res.headers['x-anygate-fallback']).toBe('a -> c')
    expect(res.headers['x-anygate-provider']).toBe('uc')
    expect(res.headers['x-anygate-model']).toBe('model-c')
    expect(res.headers['x-anygate-attempts']).toBe('3')
    // Each upstream got its own model name, not the one the client asked for.
    expect(timeline.arrivals.map((a) => (a.request.body as { model: string }).model)).toEqual([
      'model-a',
      'model-b',
      'model-c',
    ])
  })

  it("spends the group's own retries before falling back", async () => {
    const { timeline, up } = await startUpstreams('ua', 'ub')
    up.ua.always(fail(502))
    const app = await buildRoutingApp({
      routing: { retries: 1, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'a', targets: [{ provider: 'ua', model: 'model-a' }], fallbacks: ['b'] },
        { name: 'b', targets: [{ provider: 'ub', model: 'model-b' }] },
      ],
    })
    const res = await chat(app, 'a')
    expect(res.statusCode).toBe(200)
    expect(timeline.names()).toEqual(['ua', 'ua', 'ub'])
    expect(res.headers['x-anygate-attempts']).toBe('3')
    expect(res.headers['x-anygate-fallback']).toBe('a -> b')
  })

  it('falls back at once when Retry-After asks for longer than backoff_ms.max', async () => {
    const { timeline, up } = await startUpstreams('ua', 'ub')
    up.ua.always(throttle('30'))
    const app = await buildRoutingApp({
      routing: { retries: 2, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'a', targets: [{ provider: 'ua', model: 'model-a' }], fallbacks: ['b'] },
        { name: 'b', targets: [{ provider: 'ub', model: 'model-b' }] },
      ],
    })
    const res = await chat(app, 'a')
    expect(res.statusCode).toBe(200)
    expect(timeline.names()).toEqual(['ua', 'ub'])
    expect(res.headers['x-anygate-fallback']).toBe('a -> b')
  })

  it('does not fall back on a client error', async () => {
    const { timeline, up } = await startUpstreams('ua', 'ub')
    up.ua.always(fail(422, { message: 'unprocessable', type: 'invalid_request_error' }))
    const app = await buildRoutingApp({
      routing: { backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'a', targets: [{ provider: 'ua', model: 'model-a' }], fallbacks: ['b'] },
        { name: 'b', targets: [{ provider: 'ub', model: 'model-b' }] },
      ],
    })
    const res = await chat(app, 'a')
    expect(res.statusCode).toBe(422)
    expect(timeline.names()).toEqual(['ua'])
    expect(res.headers['x-anygate-fallback']).toBeUndefined()
  })
})

describe('context-window fallbacks', () => {
  const models = [
    {
      name: 'small',
      targets: [
        { provider: 'u1', model: 'small-ctx' },
        { provider: 'u2', model: 'small-ctx' },
      ],
      fallbacks: ['other'],
      context_window_fallbacks: ['big'],
    },
    { name: 'big', targets: [{ provider: 'u3', model: 'big-ctx' }] },
    { name: 'other', targets: [{ provider: 'u3', model: 'other' }] },
  ]

  it.each([
    ['with code context_length_exceeded', contextOverflow],
    // vLLM and other OpenAI-compatible servers often send the message without a code.
    ['recognised by its message alone', { ...contextOverflow, code: null }],
  ])('moves a prompt that is too long to the bigger model (%s)', async (_, error) => {
    const { timeline, up } = await startUpstreams('u1', 'u2', 'u3')
    up.u1.always(fail(400, error))
    up.u2.always(fail(400, error))
    const app = await buildRoutingApp({
      routing: { retries: 2, backoff_ms: quickBackoff },
      providers: providersFor(up),
      models,
    })
    const res = await chat(app, 'small')
    expect(res.statusCode).toBe(200)
    // Straight to the bigger model: the other target of the same model has the same window, and the
    // general fallback is for outages.
    expect(timeline.arrivals).toHaveLength(2)
    expect(timeline.names()[1]).toBe('u3')
    expect((timeline.arrivals[1]!.request.body as { model: string }).model).toBe('big-ctx')
    expect(res.headers['x-anygate-fallback']).toBe('small -> big')
    expect(res.headers['x-anygate-attempts']).toBe('2')
  })

  it('returns the 400 when the model has no context_window_fallbacks', async () => {
    const { timeline, up } = await startUpstreams('u1', 'u2', 'u3')
    up.u1.always(fail(400, contextOverflow))
    const app = await buildRoutingApp({
      routing: { backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        { name: 'small', targets: [{ provider: 'u1', model: 'small-ctx' }], fallbacks: ['other'] },
        { name: 'other', targets: [{ provider: 'u3', model: 'other' }] },
      ],
    })
    const res = await chat(app, 'small')
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('context_length_exceeded')
    expect(timeline.names()).toEqual(['u1'])
  })
})

describe('content-policy fallbacks', () => {
  it('moves a refused prompt to content_policy_fallbacks, not to the general fallbacks', async () => {
    const { timeline, up } = await startUpstreams('strict', 'lenient', 'spare')
    up.strict.always(fail(400, contentFiltered))
    const app = await buildRoutingApp({
      routing: { backoff_ms: quickBackoff },
      providers: providersFor(up),
      models: [
        {
          name: 'guarded',
          targets: [{ provider: 'strict', model: 'gpt-guarded' }],
          fallbacks: ['spare-model'],
          content_policy_fallbacks: ['open-model'],
        },
        { name: 'open-model', targets: [{ provider: 'lenient', model: 'gpt-open' }] },
        { name: 'spare-model', targets: [{ provider: 'spare', model: 'gpt-spare' }] },
      ],
    })
    const res = await chat(app, 'guarded')
    expect(res.statusCode).toBe(200)
    expect(timeline.names()).toEqual(['strict', 'lenient'])
    expect(res.headers['x-anygate-fallback']).toBe('guarded -> open-model')
    expect(contentOf(res.body)).toBe('from lenient')
  })
})
