// Request and token limits as clients see them, against the memory store and the real Redis alike:
// OpenAI's x-ratelimit-* headers, 429 refusals with Retry-After in the error shape, windows moved by
// an injected clock, TPM reservations settled with the usage the upstream reported.
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { estimateTokens } from '../plugins/tokens/estimate.js'
import { configProblems, mockOnly } from './helpers/app.js'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  chatRequest,
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
const promptEstimate = estimateTokens('chat', chatRequest(), 'gpt-4o').prompt
const reportedTokens = upstreamUsage.prompt_tokens + upstreamUsage.completion_tokens

describe.each(storeKinds(redis, limitsTestPrefix))('$name store', ({ available, store }) => {
  const it_ = available ? it : it.skip

  it_(
    "a key's rpm: headers on every answer, then a 429 naming the key, until the window slides",
    async () => {
      const upstream = await startControlledUpstream()
      const clock = manualClock()
      const gateway = await startGateway(limitsConfig(upstream, store(), { keyLimits: { rpm: 2 } }), clock)

      const first = await postChat(gateway, chatRequest())
      expect(first.status).toBe(200)
      expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2')
      expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1')
      expect(first.headers.get('x-ratelimit-reset-requests')).toBe('2m0s')
      clock.advance(10_000)
      const second = await postChat(gateway, chatRequest())
      expect(second.headers.get('x-ratelimit-remaining-requests')).toBe('0')
      expect(second.headers.get('x-ratelimit-reset-requests')).toBe('1m50s')

      const refused = await postChat(gateway, chatRequest())
      expect(refused.status).toBe(429)
      // Both requests count until this minute ends and then slide out over the next one: one slot is
      // free again once half of it has passed, 50 s + 30 s from now.
      expect(refused.headers.get('retry-after')).toBe('80')
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0')
      expect(refused.json()).toEqual({
        error: {
          message:
            'Rate limit reached on key "team-a" for requests per minute (RPM): limit 2, used 2, requested 1. ' +
            'Try again in 80s (the limit is fully reset in 1m50s).',
          type: 'rate_limit_error',
          param: null,
          code: 'rate_limit_exceeded',
        },
      })
      expect(refused.text).not.toContain(teamKey)
      expect(upstream.requests).toHaveLength(2)

      clock.advance(80_000)
      expect((await postChat(gateway, chatRequest())).status).toBe(200)
    },
  )

  it_("a key's tpm reserves the estimate, then settles to the usage the upstream reported", async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      limitsConfig(upstream, store(), { keyLimits: { tpm: 1000 } }),
      manualClock(),
    )
    const windows = gateway.app.tokenLimits!.windows
    const counted = async () =>
      (await windows.take([{ key: `tpm:key:${keyId}`, limit: 1e9, amount: 0 }])).counts[0]

    const first = await postChat(gateway, chatRequest({ max_tokens: 50 }))
    expect(first.status).toBe(200)
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('1000')
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - promptEstimate - 50))
    expect(first.headers.get('x-ratelimit-reset-tokens')).toBe('2m0s')
    await vi.waitFor(async () => expect((await counted())!.current).toBe(reportedTokens))

    // A stream settles once its last byte is out, with the usage chunk's figures.
    const streamed = await postChat(gateway, chatRequest({ stream: true, max_completion_tokens: 40 }))
    expect(streamed.status).toBe(200)
    expect(streamed.headers.get('x-ratelimit-remaining-tokens')).toBe(
      String(1000 - reportedTokens - promptEstimate - 40),
    )
    await vi.waitFor(async () => expect((await counted())!.current).toBe(2 * reportedTokens))
  })

  it_('a failed call gives its reservation back', async () => {
    const upstream = await startControlledUpstream()
    upstream.failWith(500)
    const gateway = await startGateway(
      limitsConfig(upstream, store(), { keyLimits: { tpm: 1000 } }),
      manualClock(),
    )
    const failed = await postChat(gateway, chatRequest({ max_tokens: 100 }))
    expect(failed.status).toBe(502)
    expect(failed.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - promptEstimate - 100))
    const windows = gateway.app.tokenLimits!.windows
    await vi.waitFor(async () => {
      const taken = await windows.take([{ key: `tpm:key:${keyId}`, limit: 1e9, amount: 0 }])
      expect(taken.counts[0]!.current).toBe(0)
    })
  })

  it_(
    'tpm refuses while reservations in flight fill the window, and a request larger than the limit',
    async () => {
      const upstream = await startControlledUpstream()
      upstream.hold()
      const gateway = await startGateway(
        limitsConfig(upstream, store(), { keyLimits: { tpm: 200 } }),
        manualClock(),
      )
      // Last registered, first run: a failing test must not leave the gateway waiting on the upstream.
      onTestFinished(() => upstream.release())
      const inFlight = postChat(gateway, chatRequest({ max_tokens: 150 }))
      await vi.waitFor(() => expect(upstream.requests).toHaveLength(1))

      const refused = await postChat(gateway, chatRequest({ max_tokens: 150 }))
      expect(refused.status).toBe(429)
      // 159 tokens reserved this minute leave room for 159 more only once 118 of them slid out of
      // the window: 60 s from now, plus 118/159 of the next minute (44.5 s).
      expect(promptEstimate).toBe(9)
      expect(refused.headers.get('retry-after')).toBe('105')
      expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0')
      expect(refused.json().error).toMatchObject({ type: 'rate_limit_error', code: 'tokens_exceeded' })
      expect(refused.json().error.message).toContain(
        `on key "team-a" for tokens per minute (TPM): limit 200, used ${promptEstimate + 150}, requested ${promptEstimate + 150}`,
      )

      const tooLarge = await postChat(gateway, chatRequest({ max_tokens: 500 }))
      expect(tooLarge.status).toBe(429)
      expect(tooLarge.headers.get('retry-after')).toBeNull()
      expect(tooLarge.json().error.message).toMatch(
        /^Request too large on key "team-a" for tokens per minute/,
      )

      upstream.release()
      expect((await inFlight).status).toBe(200)
      expect(upstream.requests).toHaveLength(1)
    },
  )

  it_('model limits apply to every caller; the headers report the tightest limit', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      limitsConfig(upstream, store(), {
        keyLimits: { rpm: 10 },
        limits: { models: { svc: { rpm: 2, tpm: 5000 } } },
      }),
      manualClock(),
    )
    const first = await postChat(gateway, chatRequest())
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1')
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('5000')
    await postChat(gateway, chatRequest())
    const refused = await postChat(gateway, chatRequest())
    expect(refused.status).toBe(429)
    expect(refused.json().error.message).toMatch(/^Rate limit reached on model "svc" for requests per minute/)
  })

  it_('global_rpm and per_ip_rpm hold for open deployments (no keys)', async () => {
    const upstream = await startControlledUpstream()
    const global = await startGateway(
      limitsConfig(upstream, store(), { open: true, limits: { global_rpm: 2 } }),
    )
    const perIp = await startGateway(
      limitsConfig(upstream, store(), { open: true, limits: { per_ip_rpm: 1 } }),
    )

    const answers = [await postChat(global, chatRequest(), {}), await postChat(global, chatRequest(), {})]
    expect(answers.map((a) => a.status)).toEqual([200, 200])
    expect(answers[1]!.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(answers[1]!.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(answers[1]!.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+(\.\d+)?s|1m0s)$/)
    const refused = await postChat(global, chatRequest(), {})
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(59)
    expect(refused.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' })
    expect(refused.json().error.message).toMatch(/^Rate limit reached on this gateway \(limits.global_rpm\)/)

    expect((await postChat(perIp, chatRequest(), {})).status).toBe(200)
    const ipRefused = await postChat(perIp, chatRequest(), {})
    expect(ipRefused.status).toBe(429)
    expect(ipRefused.json().error.message).toMatch(
      /^Rate limit reached for your IP address \(limits.per_ip_rpm\)/,
    )
  })

  it_('/v1/messages refusals come in the Anthropic error shape', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      limitsConfig(upstream, store(), { keyLimits: { rpm: 1 } }),
      manualClock(),
    )
    const send = () =>
      gateway.fetch('/v1/messages', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': teamKey,
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({ model: 'svc', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
      })
    expect((await send()).status).toBe(200)
    const refused = await send()
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).not.toBeNull()
    const body = (await refused.json()) as { type: string; error: { type: string; code: string } }
    expect(body.type).toBe('error')
    expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' })
  })
})

describe('off by default', () => {
  it('the default config registers no limits and sends no x-ratelimit headers', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(limitsConfig(upstream, { type: 'memory' }, { open: true }))
    expect(gateway.app.requestLimits).toBeUndefined()
    expect(gateway.app.tokenLimits).toBeUndefined()
    const res = await postChat(gateway, chatRequest(), {})
    expect(res.status).toBe(200)
    expect([...res.headers.keys()].filter((name) => name.startsWith('x-ratelimit'))).toEqual([])
  })

  it('keys without limits get no headers either', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(limitsConfig(upstream, { type: 'memory' }))
    const res = await postChat(gateway, chatRequest())
    expect(res.status).toBe(200)
    expect(res.headers.get('x-ratelimit-limit-requests')).toBeNull()
  })
})

describe('the limits: config section', () => {
  it('is refused with every bad path named', () => {
    const problems = configProblems({
      ...mockOnly,
      limits: { global_rpm: 0, models: { svc: { tpm: -1, rpx: 1 } }, burst: 2 },
    })
    expect(problems).toEqual([
      'limits.burst: unexpected property',
      'limits.global_rpm: expected integer to be greater or equal to 1',
      'limits.models.svc.rpx: unexpected property',
      'limits.models.svc.tpm: expected integer to be greater or equal to 1',
    ])
  })
})
