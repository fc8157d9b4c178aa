// Bad-input limits a public gateway needs: how many streams one caller may hold open at once
// (limits.max_streams_per_key, per key or per client IP when auth is off) and how many messages one
// request may carry (limits.max_messages). Both refuse with a clear error in the OpenAI shape.
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import {
  chatRequest,
  type Gateway,
  limitsConfig,
  postChat,
  startControlledUpstream,
  startGateway,
  teamKey,
} from './limits-helpers.js'

const memory = { type: 'memory' }

async function openStream(gateway: Gateway, headers: Record<string, string>) {
  const controller = new AbortController()
  const res = await gateway.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chatRequest({ stream: true })),
    signal: controller.signal,
  })
  return { res, abort: () => controller.abort() }
}

describe('limits.max_streams_per_key', () => {
  it('refuses a key its next stream while it holds the limit, JSON calls still pass, and an ended stream frees its place', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    onTestFinished(() => upstream.release())
    const gateway = await startGateway(limitsConfig(upstream, memory, { limits: { max_streams_per_key: 2 } }))
    const auth = { authorization: `Bearer ${teamKey}` }

    const open = [await openStream(gateway, auth), await openStream(gateway, auth)]
    expect(open.map((o) => o.res.status)).toEqual([200, 200])
    const refused = await openStream(gateway, auth)
    expect(refused.res.status).toBe(429)
    expect(refused.res.headers.get('retry-after')).toBe('1')
    expect(await refused.res.json()).toEqual({
      error: {
        message:
          'Too many open streams for key "team-a": limits.max_streams_per_key is 2 and 2 are open. Retry when one of them has finished, or send the request without stream: true.',
        type: 'rate_limit_error',
        param: null,
        code: 'max_streams_exceeded',
      },
    })

    // Not a stream: not counted against the stream limit.
    upstream.release()
    expect((await postChat(gateway, chatRequest())).status).toBe(200)
    upstream.hold()

    open[0]!.abort()
    await vi.waitFor(async () => expect((await openStream(gateway, auth)).res.status).toBe(200))
  })

  it('counts per client IP when auth is off', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    onTestFinished(() => upstream.release())
    const gateway = await startGateway(
      limitsConfig(upstream, memory, { open: true, limits: { max_streams_per_key: 1 } }),
    )
    expect((await openStream(gateway, {})).res.status).toBe(200)
    const refused = await openStream(gateway, {})
    expect(refused.res.status).toBe(429)
    expect(((await refused.res.json()) as { error: { message: string } }).error.message).toMatch(
      /^Too many open streams for your IP address/,
    )
  })
})

describe('limits.max_messages', () => {
  it('refuses a conversation longer than the limit with a 400 naming it, on both chat routes', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      limitsConfig(upstream, memory, { open: true, limits: { max_messages: 3 } }),
    )
    const messages = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }))

    expect((await postChat(gateway, chatRequest({ messages: messages(3) }), {})).status).toBe(200)
    const refused = await postChat(gateway, chatRequest({ messages: messages(4) }), {})
    expect(refused.status).toBe(400)
    expect(refused.json()).toEqual({
      error: {
        message:
          'This request has 4 messages; this gateway accepts at most 3 (limits.max_messages). Shorten the conversation.',
        type: 'invalid_request_error',
        param: 'messages',
        code: 'too_many_messages',
      },
    })

    const anthropic = await gateway.fetch('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'svc', max_tokens: 10, messages: messages(5) }),
    })
    expect(anthropic.status).toBe(400)
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { code: 'too_many_messages' } })
    expect(upstream.requests).toHaveLength(1)
  })
})
