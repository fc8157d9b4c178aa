// The retry and fallback policy under real faults: a broken target hands the call to a healthy one
// before the first byte, a model whose targets all fail hands it to its fallback model, a stream that
// already started is never sent again, and routing.timeout_ms bounds a stall however many retries
// are left. Counters return to zero on every target either way.
import { describe, expect, it } from 'vitest'
import { manualClock } from '../limits-helpers.js'
import {
  expectIdle,
  expectNextServed,
  type Fault,
  faultConfig,
  healthy,
  htmlErrorPage,
  malformedJson,
  openAIError,
  oversizedEvent,
  postChat,
  resetMidBody,
  sseEvents,
  stallAfterHeaders,
  startFaultGateway,
  startSwitchableUpstream,
  tooManyRequests,
  truncateSseMidEvent,
} from './fault-kit.js'

const marginMs = 2500

const contentOf = (text: string) => JSON.parse(text).choices[0].message.content as string

/** The streamed text of an OpenAI SSE body. */
const streamedText = (text: string) =>
  sseEvents(text)
    .filter((e): e is { choices: { delta: { content?: string } }[] } => typeof e === 'object')
    .map((e) => e.choices[0]?.delta.content ?? '')
    .join('')

const faults: { fault: string; make: Fault; streamOnly?: boolean }[] = [
  { fault: 'reset mid-body', make: resetMidBody(0) },
  { fault: 'malformed JSON', make: malformedJson(0) },
  { fault: 'truncated mid-event or mid-body', make: truncateSseMidEvent(0) },
  { fault: 'an event over 1 MB', make: oversizedEvent(0), streamOnly: true },
  { fault: 'stall after headers', make: stallAfterHeaders() },
  { fault: '200 with an HTML error page', make: htmlErrorPage() },
  { fault: '429 with Retry-After', make: tooManyRequests('30') },
  { fault: '429 without Retry-After', make: tooManyRequests() },
]

describe.each(['json', 'stream'] as const)('%s: a second target takes over', (mode) => {
  const extra = mode === 'stream' ? { stream: true } : {}

  it.each(faults.filter((f) => mode === 'stream' || !f.streamOnly))(
    '$fault on the first target: the second one serves',
    async ({ make }) => {
      const first = await startSwitchableUpstream()
      const second = await startSwitchableUpstream()
      first.set(make)
      second.set(healthy('from second'))
      const gateway = await startFaultGateway(faultConfig({ first, second }))

      const answer = await postChat(gateway, extra)

      expect(answer.status, answer.text).toBe(200)
      expect(mode === 'json' ? contentOf(answer.text) : streamedText(answer.text)).toBe('from second')
      expect(answer.headers.get('x-anygate-provider')).toBe('second')
      expect(answer.headers.get('x-anygate-attempts')).toBe('2')
      expect([first.requests.length, second.requests.length]).toEqual([1, 1])
      // A Retry-After is about the target that sent it: the other target is not made to wait.
      expect(answer.ms).toBeLessThan(1000 + marginMs)
      await expectIdle(gateway, ['first/m', 'second/m'])
      await expectNextServed(gateway, first)
    },
  )
})

describe.each(['json', 'stream'] as const)('%s: a fallback model takes over', (mode) => {
  const extra = mode === 'stream' ? { stream: true } : {}

  it('when every target of the model floods 429s', async () => {
    const a = await startSwitchableUpstream()
    const b = await startSwitchableUpstream()
    const spare = await startSwitchableUpstream()
    a.set(tooManyRequests())
    b.set(tooManyRequests())
    const gateway = await startFaultGateway(faultConfig({ a, b, spare }, { fallback: ['spare'] }))

    const answer = await postChat(gateway, extra)

    expect(answer.status, answer.text).toBe(200)
    expect(answer.headers.get('x-anygate-fallback')).toBe('chat -> backup')
    expect(answer.headers.get('x-anygate-provider')).toBe('spare')
    // routing.retries (1) per model: both targets of chat once, then the fallback.
    expect(answer.headers.get('x-anygate-attempts')).toBe('3')
    expect([a.requests.length, b.requests.length, spare.requests.length]).toEqual([1, 1, 1])
    await expectIdle(gateway, ['a/m', 'b/m', 'spare/m'])
  })
})

describe('stream: no retry after the first byte', () => {
  it.each([
    { fault: 'reset mid-stream', make: resetMidBody(2), code: 'upstream_unreachable' },
    { fault: 'SSE truncated mid-event', make: truncateSseMidEvent(2), code: 'upstream_bad_response' },
    { fault: 'an event over 1 MB mid-stream', make: oversizedEvent(2), code: 'upstream_bad_response' },
    { fault: 'stall mid-stream', make: stallAfterHeaders(2), code: 'upstream_timeout' },
  ])('$fault: neither the healthy second target nor the fallback model is called', async ({ make, code }) => {
    const first = await startSwitchableUpstream()
    const second = await startSwitchableUpstream()
    const spare = await startSwitchableUpstream()
    first.set(make)
    const gateway = await startFaultGateway(faultConfig({ first, second, spare }, { fallback: ['spare'] }))

    const answer = await postChat(gateway, { stream: true })

    expect(answer.status).toBe(200)
    expect(answer.headers.get('x-anygate-provider')).toBe('first')
    expect(sseEvents(answer.text).at(-1)).toEqual({ error: expect.objectContaining({ code }) })
    expect(answer.text).not.toContain('[DONE]')
    expect([first.requests.length, second.requests.length, spare.requests.length]).toEqual([1, 0, 0])
    await expectIdle(gateway, ['first/m', 'second/m', 'spare/m'])
  })
})

describe('routing.timeout_ms bounds a stall', () => {
  it.each(['json', 'stream'] as const)(
    '%s: 504 once the overall deadline passes, with retries left and a long provider timeout',
    async (mode) => {
      const upstream = await startSwitchableUpstream()
      upstream.set(stallAfterHeaders())
      const deadlineMs = 800
      const bounded = await startFaultGateway({
        ...faultConfig({ a: upstream }, { timeouts: { first_byte_ms: 30_000, total_ms: 60_000 } }),
        routing: { retries: 5, backoff_ms: { base: 1, max: 10 }, timeout_ms: deadlineMs },
      })

      const answer = await postChat(bounded, mode === 'stream' ? { stream: true } : {})

      expect(answer.status, answer.text).toBe(504)
      expect(JSON.parse(answer.text)).toEqual(
        openAIError('timeout_error', 'upstream_timeout', expect.stringContaining('routing.timeout_ms')),
      )
      expect(answer.ms).toBeGreaterThanOrEqual(deadlineMs - 50)
      expect(answer.ms).toBeLessThan(deadlineMs + marginMs)
      expect(upstream.requests).toHaveLength(1)
      await upstream.requests[0]!.ended
      expect(upstream.requests[0]!.aborted).toBe(true)
      await expectIdle(bounded, ['a/m'])
      await expectNextServed(bounded, upstream)
    },
  )
})

describe("a provider's total_ms shorter than the routing deadline", () => {
  it('json: the provider timeout still ends a stalled call (the attempt deadline comes later)', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(stallAfterHeaders())
    const totalMs = 500
    const gateway = await startFaultGateway({
      ...faultConfig({ a: upstream }, { timeouts: { first_byte_ms: 30_000, total_ms: totalMs } }),
      routing: { retries: 0, timeout_ms: 60_000 },
    })

    const answer = await postChat(gateway, {})

    expect(answer.status, answer.text).toBe(504)
    expect(JSON.parse(answer.text)).toEqual(
      openAIError('timeout_error', 'upstream_timeout', expect.stringContaining('(total timeout)')),
    )
    expect(answer.ms).toBeGreaterThanOrEqual(totalMs - 50)
    expect(answer.ms).toBeLessThan(totalMs + marginMs)
    await upstream.requests[0]!.ended
    expect(upstream.requests[0]!.aborted).toBe(true)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})

describe('a sustained flood of 429s', () => {
  it('opens the circuit: later calls fail fast with 503 and Retry-After, and the call after the cooldown is served', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(tooManyRequests())
    const clock = manualClock()
    const gateway = await startFaultGateway(
      {
        ...faultConfig({ a: upstream }),
        routing: {
          retries: 1,
          backoff_ms: { base: 1, max: 10 },
          circuit_breaker: { consecutive_failures: 3, cooldown_s: 5 },
        },
      },
      clock,
    )

    // Two attempts each: the third failure in a row opens the circuit, which stops the fourth.
    expect((await postChat(gateway)).status).toBe(429)
    expect((await postChat(gateway, { stream: true })).status).toBe(429)
    expect(upstream.requests).toHaveLength(3)

    const refused = await postChat(gateway)
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.text)).toEqual({
      error: expect.objectContaining({
        type: 'service_unavailable',
        code: 'no_target_available',
        param: 'model',
      }),
    })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(upstream.requests).toHaveLength(3)
    await expectIdle(gateway, ['a/m'])

    // The upstream recovered; after the cooldown one trial call goes through and closes the circuit.
    clock.advance(5_000)
    await expectNextServed(gateway, upstream)
    expect(upstream.requests).toHaveLength(5)
  })
})
