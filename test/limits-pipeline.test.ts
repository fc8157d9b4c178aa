// Where the limits sit in the per-call pipeline: max_parallel slots held for a call's whole life
// (streams included) and released whichever way it ends, client aborts too; cache hits counted as
// requests but never as tokens. Memory store and real Redis alike.
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  chatRequest,
  type Gateway,
  limitsConfig,
  limitsTestPrefix,
  manualClock,
  postChat,
  startControlledUpstream,
  startGateway,
  teamKey,
  upstreamUsage,
} from './limits-helpers.js'

const redis = await connectRedisForFile(limitsTestPrefix)

const keyId = 'cfg-team-a'
const auth = { authorization: `Bearer ${teamKey}`, 'content-type': 'application/json' }

/** Starts a chat call and resolves once its response headers arrived; the body is left unread. */
async function openCall(gateway: Gateway, body: Record<string, unknown>) {
  const controller = new AbortController()
  const res = await gateway.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify(body),
    signal: controller.signal,
  })
  return { res, abort: () => controller.abort() }
}

describe.each(storeKinds(redis, limitsTestPrefix))('$name store', ({ available, store }) => {
  const it_ = available ? it : it.skip

  it_('max_parallel holds a slot for a whole stream and frees it on the last byte or an abort', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    const gateway = await startGateway(limitsConfig(upstream, store(), { keyLimits: { max_parallel: 2 } }))
    onTestFinished(() => upstream.release())
    const inFlight = () => gateway.app.requestLimits!.parallel.inFlight(keyId)

    const first = await openCall(gateway, chatRequest({ stream: true }))
    const second = await openCall(gateway, chatRequest({ stream: true }))
    expect([first.res.status, second.res.status]).toEqual([200, 200])
    expect(await inFlight()).toBe(2)

    const refused = await postChat(gateway, chatRequest())
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.json().error).toEqual({
      message:
        'Too many concurrent requests on key "team-a": max_parallel is 2 and 2 are in flight. Retry when one of them has finished.',
      type: 'rate_limit_error',
      param: null,
      code: 'max_parallel_exceeded',
    })

    // The client hangs up mid-stream: its slot comes back.
    first.abort()
    await vi.waitFor(async () => expect(await inFlight()).toBe(1))

    // A JSON call abandoned while the upstream is still thinking frees its slot too.
    const waiting = startAbandonedCall(gateway)
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(3))
    expect(await inFlight()).toBe(2)
    waiting.abort()
    await vi.waitFor(async () => expect(await inFlight()).toBe(1))

    // The stream that ran to its end frees its slot after the last byte.
    upstream.release()
    expect(await second.res.text()).toContain('data: [DONE]')
    await vi.waitFor(async () => expect(await inFlight()).toBe(0))
  })

  it_('40 calls aborted at random points leave nothing in flight', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    const gateway = await startGateway(limitsConfig(upstream, store(), { keyLimits: { max_parallel: 50 } }))
    onTestFinished(() => upstream.release())
    const calls = Array.from({ length: 40 }, (_, i) => {
      const controller = new AbortController()
      const done = gateway
        .fetch('/v1/chat/completions', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(chatRequest({ stream: i % 2 === 0 })),
          signal: controller.signal,
        })
        .then(
          (res) => res.text(),
          () => 'aborted',
        )
      setTimeout(() => controller.abort(), (i * 7) % 120)
      return done.catch(() => 'aborted')
    })
    await Promise.all(calls)
    await vi.waitFor(async () => expect(await gateway.app.requestLimits!.parallel.inFlight(keyId)).toBe(0))
  })

  it_('a cache hit counts as a request but reserves no tokens', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      {
        ...limitsConfig(upstream, store(), { keyLimits: { rpm: 10, tpm: 1000 } }),
        cache: { enabled: true, backend: store().type === 'redis' ? 'redis' : 'memory' },
      },
      manualClock(),
    )
    const body = chatRequest({ temperature: 0 })
    const miss = await postChat(gateway, body)
    expect(miss.headers.get('x-anygate-cache')).toBe('MISS')
    const tokens = async () =>
      (await gateway.app.tokenLimits!.windows.take([{ key: `tpm:key:${keyId}`, limit: 1e9, amount: 0 }]))
        .counts[0]!.current
    const reported = upstreamUsage.prompt_tokens + upstreamUsage.completion_tokens
    await vi.waitFor(async () => expect(await tokens()).toBe(reported))

    const hit = await postChat(gateway, body)
    expect(hit.headers.get('x-anygate-cache')).toBe('HIT')
    expect(hit.headers.get('x-ratelimit-remaining-requests')).toBe('8')
    expect(hit.headers.get('x-ratelimit-remaining-tokens')).toBeNull()
    expect(upstream.requests).toHaveLength(1)
    // Give a late settle the chance to show up: the count stays the first call's.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await tokens()).toBe(reported)
  })
})

function startAbandonedCall(gateway: Gateway) {
  const controller = new AbortController()
  gateway
    .fetch('/v1/chat/completions', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(chatRequest()),
      signal: controller.signal,
    })
    .catch(() => undefined)
  return { abort: () => controller.abort() }
}
