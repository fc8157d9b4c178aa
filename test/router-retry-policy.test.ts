import { describe, expect, it } from 'vitest'
import {
  ClientAbortError,
  draining,
  GatewayError,
  invalidRequest,
  modelNotFound,
  unauthorized,
  upstreamBadResponse,
  upstreamTimeout,
  upstreamUnreachable,
} from '../plugins/gateway-error.js'
import { createSeededRng } from '../plugins/router/random.js'
import {
  classifyFailure,
  decideNextStep,
  type FailureKind,
  type StepInput,
} from '../plugins/router/retry-policy.js'
import { fromAnthropicError } from '../providers/anthropic/errors.js'
import { fromOpenAIError } from '../providers/openai/errors.js'

const upstream = { provider: 'p', model: 'm', secrets: [] }
const statusError = (status: number, code: string | null = null, headers: Record<string, string> = {}) =>
  new GatewayError(
    status,
    `status ${status}`,
    status >= 500 ? 'upstream_error' : 'invalid_request_error',
    code,
    null,
    headers,
  )

describe('classifyFailure', () => {
  it.each<[string, unknown, FailureKind, 'failure' | 'neutral']>([
    ['429', statusError(429, 'rate_limit_exceeded'), 'retry', 'failure'],
    ['500', statusError(500), 'retry', 'failure'],
    ['502', statusError(502), 'retry', 'failure'],
    ['503', statusError(503), 'retry', 'failure'],
    ['504', statusError(504), 'retry', 'failure'],
    ['529', statusError(529), 'retry', 'failure'],
    ['connect error', upstreamUnreachable('p', 'ECONNREFUSED'), 'retry', 'failure'],
    ['timeout', upstreamTimeout('p', 'first byte'), 'retry', 'failure'],
    ['invalid upstream body', upstreamBadResponse('p', 'not JSON'), 'retry', 'failure'],
    [
      'raw socket reset from a third-party adapter',
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      'retry',
      'failure',
    ],
    ['context overflow as 400', statusError(400, 'context_length_exceeded'), 'fallback-context', 'neutral'],
    ['context overflow as 413', statusError(413, 'context_length_exceeded'), 'fallback-context', 'neutral'],
    ['Azure content filter', statusError(400, 'content_filter'), 'fallback-content-policy', 'neutral'],
    [
      'OpenAI content policy',
      statusError(400, 'content_policy_violation'),
      'fallback-content-policy',
      'neutral',
    ],
    ['400', invalidRequest('bad'), 'fatal', 'neutral'],
    ['401', unauthorized('no key'), 'fatal', 'neutral'],
    ['403', statusError(403), 'fatal', 'neutral'],
    ['404', modelNotFound('nope'), 'fatal', 'neutral'],
    ['413', statusError(413, 'request_too_large'), 'fatal', 'neutral'],
    ['422', statusError(422), 'fatal', 'neutral'],
    ['402 billing', statusError(402, 'billing_error'), 'fatal', 'neutral'],
    ['our own draining 503', draining(), 'fatal', 'neutral'],
    ['client went away', new ClientAbortError(), 'fatal', 'neutral'],
    ['a bug', new TypeError('x is undefined'), 'fatal', 'neutral'],
  ])('%s is %s (breaker: %s)', (_name, error, kind, breaker) => {
    expect(classifyFailure(error)).toMatchObject({ kind, breaker })
  })

  it('classifies what the adapters actually produce from upstream statuses', () => {
    // Upstream 500/529 arrive as 502/503 after gatewayStatusFor(); both stay retryable.
    for (const status of [500, 502, 503, 504, 529]) {
      expect(classifyFailure(fromOpenAIError({ ...upstream, status, body: '{}' })).kind).toBe('retry')
    }
    const overloaded = fromAnthropicError({
      ...upstream,
      status: 529,
      body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    })
    expect(classifyFailure(overloaded).kind).toBe('retry')
    const tooLong = fromAnthropicError({
      ...upstream,
      status: 400,
      body: JSON.stringify({
        error: { type: 'invalid_request_error', message: 'prompt is too long: 9 > 8' },
      }),
    })
    expect(classifyFailure(tooLong).kind).toBe('fallback-context')
    const filtered = fromOpenAIError({
      ...upstream,
      status: 400,
      body: JSON.stringify({ error: { code: 'content_filter', message: 'filtered by Azure' } }),
    })
    expect(classifyFailure(filtered).kind).toBe('fallback-content-policy')
    expect(classifyFailure(fromOpenAIError({ ...upstream, status: 401, body: '{}' })).kind).toBe('fatal')
  })

  it('carries the Retry-After the adapter kept, in ms', () => {
    const now = Date.UTC(2025, 5, 1)
    const seconds = 17
    const limited = fromOpenAIError({ ...upstream, status: 429, body: '{}', retryAfter: String(seconds) })
    expect(classifyFailure(limited, now)).toMatchObject({ kind: 'retry', retryAfterMs: seconds * 1000 })
    const dated = statusError(503, null, { 'retry-after': new Date(now + 4000).toUTCString() })
    expect(classifyFailure(dated, now).retryAfterMs).toBe(4000)
    expect(classifyFailure(statusError(503), now).retryAfterMs).toBeUndefined()
  })
})

describe('decideNextStep', () => {
  const now = 1_000
  const backoff = { base: 200, max: 5000 }
  const noFallbacks = { general: [], context_window: [], content_policy: [] }

  function step(error: unknown, overrides: Partial<StepInput> = {}) {
    return decideNextStep({
      classification: classifyFailure(error, now),
      attemptsInGroup: 1,
      retries: 2,
      untriedTargets: 1,
      fallbacks: noFallbacks,
      streamCommitted: false,
      now,
      deadline: now + 60_000,
      backoff,
      rng: createSeededRng(1),
      ...overrides,
    })
  }

  it('retries a retryable failure on another target first, with backoff below the first ceiling', () => {
    const next = step(statusError(503))
    expect(next).toMatchObject({ action: 'retry', target: 'next-target' })
    if (next.action === 'retry') expect(next.delayMs).toBeLessThan(backoff.base)
  })

  it('does not apply one target’s Retry-After to another target', () => {
    const next = step(statusError(429, null, { 'retry-after': '30' }))
    expect(next).toMatchObject({ action: 'retry', target: 'next-target' })
    if (next.action === 'retry') expect(next.delayMs).toBeLessThan(backoff.base)
  })

  it('retries the same target, honouring its Retry-After, when no other target is left', () => {
    const next = step(statusError(429, null, { 'retry-after': '3' }), { untriedTargets: 0 })
    expect(next).toMatchObject({ action: 'retry', target: 'same-target' })
    if (next.action === 'retry') expect(next.delayMs).toBeGreaterThanOrEqual(3000)
  })

  it('gives up when the only target asks to wait past the deadline', () => {
    const next = step(statusError(429, null, { 'retry-after': '120' }), { untriedTargets: 0 })
    expect(next).toEqual({ action: 'give-up', reason: 'retry_after_beyond_deadline' })
  })

  it('moves to a fallback rather than sleeping on a long Retry-After', () => {
    const fallbacks = { ...noFallbacks, general: ['backup'] }
    const next = step(statusError(429, null, { 'retry-after': '30' }), { untriedTargets: 0, fallbacks })
    expect(next).toEqual({ action: 'fallback', model: 'backup', kind: 'general' })
  })

  it('moves to the general fallback once the retry budget is spent', () => {
    const retries = 2
    const fallbacks = { ...noFallbacks, general: ['backup', 'last-resort'] }
    const spent = { attemptsInGroup: retries + 1, retries, untriedTargets: 3 }
    expect(step(statusError(502), { ...spent, fallbacks })).toEqual({
      action: 'fallback',
      model: 'backup',
      kind: 'general',
    })
    expect(step(statusError(502), spent)).toEqual({ action: 'give-up', reason: 'retries_exhausted' })
  })

  it('sends context overflows and refusals to their own fallback lists only', () => {
    const fallbacks = { general: ['general'], context_window: ['long-context'], content_policy: ['lenient'] }
    expect(step(statusError(400, 'context_length_exceeded'), { fallbacks })).toEqual({
      action: 'fallback',
      model: 'long-context',
      kind: 'context_window',
    })
    expect(step(statusError(400, 'content_filter'), { fallbacks })).toEqual({
      action: 'fallback',
      model: 'lenient',
      kind: 'content_policy',
    })
    expect(
      step(statusError(400, 'context_length_exceeded'), { fallbacks: { ...fallbacks, context_window: [] } }),
    ).toEqual({ action: 'give-up', reason: 'no_fallback' })
  })

  it.each([
    ['400', invalidRequest('bad')],
    ['401', unauthorized('no')],
    ['404', modelNotFound('x')],
  ])('never retries a %s, even with targets and fallbacks left', (_status, error) => {
    const next = step(error, { untriedTargets: 3, fallbacks: { ...noFallbacks, general: ['backup'] } })
    expect(next).toEqual({ action: 'give-up', reason: 'fatal' })
  })

  it('stops once bytes reached the client, or the deadline passed', () => {
    expect(step(statusError(502, 'upstream_stream_error'), { streamCommitted: true })).toEqual({
      action: 'give-up',
      reason: 'stream_committed',
    })
    expect(step(statusError(503), { now: now + 60_000 })).toEqual({
      action: 'give-up',
      reason: 'deadline_passed',
    })
  })

  it('grows the backoff with each retry in the group', () => {
    const delays = (attemptsInGroup: number) => {
      const rng = createSeededRng(attemptsInGroup)
      return Array.from({ length: 300 }, () => {
        const next = step(statusError(503), { attemptsInGroup, retries: 10, rng })
        return next.action === 'retry' ? next.delayMs : Number.NaN
      })
    }
    for (const attempts of [1, 2, 3, 4]) {
      const ceiling = Math.min(backoff.max, backoff.base * 2 ** (attempts - 1))
      const observed = delays(attempts)
      expect(Math.max(...observed)).toBeLessThan(ceiling)
      // Full jitter: the largest of 300 uniform draws lies near the ceiling.
      expect(Math.max(...observed)).toBeGreaterThan(ceiling * 0.9)
    }
  })
})
