// Each way an upstream can break, against POST /v1/chat/completions over real sockets: the client gets
// a clean OpenAI-shaped error (or, once a stream has started, one final error event and no [DONE])
// within the configured timeouts; retryable faults are retried exactly as routing.retries says and
// never after a stream's first byte; nothing stays in flight; the next call is served.
import { describe, expect, it } from 'vitest'
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
  shortTimeouts,
  sseEvents,
  stallAfterHeaders,
  startFaultGateway,
  startSwitchableUpstream,
  tooManyRequests,
  truncateSseMidEvent,
  upstreamSecret,
} from './fault-kit.js'

const firstByteMs = shortTimeouts.first_byte_ms
/** Room for a loaded 2-core machine on top of what the timeouts allow. */
const marginMs = 2500

interface Expected {
  status: number
  type: string
  code: string | null
  /** Upstream calls the routing policy makes (routing.retries is 1). */
  arrivals: number
  /** The most the client may wait, margin excluded. */
  withinMs: number
}

interface Case {
  fault: string
  make: Fault
  expected: Expected
}

const badResponse = {
  status: 502,
  type: 'upstream_error',
  code: 'upstream_bad_response',
  arrivals: 2,
  withinMs: 0,
}
const unreachable = {
  status: 502,
  type: 'upstream_error',
  code: 'upstream_unreachable',
  arrivals: 2,
  withinMs: 0,
}
const timedOut = {
  status: 504,
  type: 'timeout_error',
  code: 'upstream_timeout',
  arrivals: 2,
  withinMs: 2 * firstByteMs,
}

// Before the first byte reaches the client, JSON and streams alike end as an HTTP error.
const beforeFirstByte: { json: Case[]; stream: Case[] } = {
  json: [
    { fault: 'reset mid-body', make: resetMidBody(), expected: unreachable },
    { fault: 'malformed JSON', make: malformedJson(), expected: badResponse },
    { fault: 'body truncated, cleanly ended', make: truncateSseMidEvent(), expected: badResponse },
    { fault: 'stall after headers', make: stallAfterHeaders(), expected: timedOut },
    { fault: '200 with an HTML error page', make: htmlErrorPage(), expected: badResponse },
  ],
  stream: [
    { fault: 'reset inside the first event', make: resetMidBody(0), expected: unreachable },
    { fault: 'malformed JSON in the first event', make: malformedJson(0), expected: badResponse },
    { fault: 'SSE truncated inside the first event', make: truncateSseMidEvent(0), expected: badResponse },
    { fault: 'a first event over 1 MB', make: oversizedEvent(0), expected: badResponse },
    { fault: 'stall after headers', make: stallAfterHeaders(0), expected: timedOut },
    { fault: '200 with an HTML error page', make: htmlErrorPage(), expected: badResponse },
  ],
}

describe.each(['json', 'stream'] as const)('%s: a fault before the first byte', (mode) => {
  it.each(beforeFirstByte[mode])('$fault: clean error, retried once, nothing left in flight', async (c) => {
    const upstream = await startSwitchableUpstream()
    upstream.set(c.make)
    const gateway = await startFaultGateway(faultConfig({ a: upstream }))

    const answer = await postChat(gateway, mode === 'stream' ? { stream: true } : {})

    expect(answer.status, answer.text).toBe(c.expected.status)
    expect(answer.headers.get('content-type')).toContain('application/json')
    expect(JSON.parse(answer.text)).toEqual(openAIError(c.expected.type, c.expected.code ?? ''))
    expect(answer.headers.get('x-anygate-attempts')).toBe(String(c.expected.arrivals))
    expect(answer.text).not.toContain(upstreamSecret)
    expect(answer.ms).toBeLessThan(c.expected.withinMs + marginMs)
    expect(upstream.requests).toHaveLength(c.expected.arrivals)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})

// After the first byte the status is sent: the stream ends with one error event, no [DONE], and the
// request is never sent again (the client already holds part of this answer).
const afterFirstByte: Case[] = [
  { fault: 'reset mid-stream', make: resetMidBody(2), expected: { ...unreachable, arrivals: 1 } },
  { fault: 'malformed JSON mid-stream', make: malformedJson(2), expected: { ...badResponse, arrivals: 1 } },
  {
    fault: 'SSE truncated mid-event',
    make: truncateSseMidEvent(2),
    expected: { ...badResponse, arrivals: 1 },
  },
  {
    fault: 'an event over 1 MB mid-stream',
    make: oversizedEvent(2),
    expected: { ...badResponse, arrivals: 1 },
  },
  {
    fault: 'stall mid-stream',
    make: stallAfterHeaders(2),
    expected: { ...timedOut, arrivals: 1, withinMs: firstByteMs },
  },
]

describe('stream: a fault after the first byte', () => {
  it.each(afterFirstByte)('$fault: one final error event, no retry, nothing left in flight', async (c) => {
    const upstream = await startSwitchableUpstream()
    upstream.set(c.make)
    const gateway = await startFaultGateway(faultConfig({ a: upstream }))

    const answer = await postChat(gateway, { stream: true })

    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toContain('text/event-stream')
    const events = sseEvents(answer.text)
    // The role chunk and one content piece got through, then the error; nothing after it.
    expect(events).toHaveLength(3)
    expect(events.slice(0, 2)).toEqual([
      expect.objectContaining({ object: 'chat.completion.chunk' }),
      expect.objectContaining({ object: 'chat.completion.chunk' }),
    ])
    expect(events[2]).toEqual(openAIError(c.expected.type, c.expected.code ?? ''))
    expect(answer.text).not.toContain('[DONE]')
    expect(answer.text).not.toContain(upstreamSecret)
    expect(answer.ms).toBeLessThan(c.expected.withinMs + marginMs)
    expect(upstream.requests).toHaveLength(1)
    // The gateway let go of the upstream connection too.
    await upstream.requests[0]!.ended
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})

describe.each(['json', 'stream'] as const)('%s: a flood of 429s', (mode) => {
  const extra = mode === 'stream' ? { stream: true } : {}

  it('with Retry-After: waits it out before each retry, then passes the 429 and its Retry-After on', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(tooManyRequests('1'))
    const gateway = await startFaultGateway(faultConfig({ a: upstream }))

    const answer = await postChat(gateway, extra)

    expect(answer.status).toBe(429)
    expect(answer.headers.get('retry-after')).toBe('1')
    expect(JSON.parse(answer.text)).toEqual(
      openAIError('requests', 'rate_limit_exceeded', expect.stringContaining('Rate limit reached')),
    )
    expect(upstream.requests).toHaveLength(2)
    expect(answer.ms).toBeGreaterThanOrEqual(1000)
    expect(answer.ms).toBeLessThan(1000 + marginMs)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })

  it('without Retry-After: retries after backoff only, then a clean 429 rate_limit_error', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(tooManyRequests())
    const gateway = await startFaultGateway(faultConfig({ a: upstream }, { retries: 2 }))

    const answer = await postChat(gateway, extra)

    expect(answer.status).toBe(429)
    expect(answer.headers.get('retry-after')).toBeNull()
    const body = JSON.parse(answer.text)
    expect(body).toEqual({
      error: { message: expect.stringContaining('429'), type: 'rate_limit_error', param: null, code: null },
    })
    expect(upstream.requests).toHaveLength(3)
    expect(answer.ms).toBeLessThan(marginMs)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})

describe('many calls at once, each meeting its own fault', () => {
  it('every one ends cleanly within the timeouts and nothing is left in flight', async () => {
    const faults: Fault[] = [
      resetMidBody(0),
      resetMidBody(2),
      malformedJson(0),
      malformedJson(2),
      truncateSseMidEvent(2),
      oversizedEvent(2),
      stallAfterHeaders(0),
      stallAfterHeaders(2),
      htmlErrorPage(),
      tooManyRequests(),
      healthy(),
    ]
    let next = 0
    const upstream = await startSwitchableUpstream()
    upstream.set((req, res) => faults[next++ % faults.length]!(req, res))
    // The breaker stays out of it: every call has to meet its fault (test/faults/failover.test.ts
    // covers the circuit opening under a flood).
    const gateway = await startFaultGateway({
      ...faultConfig({ a: upstream }, { keyExtra: { max_parallel: 100 } }),
      routing: { retries: 0, circuit_breaker: { consecutive_failures: 1000, min_samples: 1000 } },
    })

    const answers = await Promise.all(
      Array.from({ length: 2 * faults.length }, (_, i) => postChat(gateway, i % 2 ? { stream: true } : {})),
    )

    // The OpenAI error shape and nothing else; code is null when the upstream gave none.
    const expectErrorShape = (body: unknown) =>
      expect(body).toEqual({
        error: {
          message: expect.any(String),
          type: expect.any(String),
          param: null,
          code: expect.toSatisfy((code: unknown) => code === null || typeof code === 'string'),
        },
      })
    for (const answer of answers) {
      expect(answer.ms).toBeLessThan(firstByteMs + marginMs)
      expect(answer.text).not.toContain(upstreamSecret)
      if (answer.status !== 200) {
        expectErrorShape(JSON.parse(answer.text))
        continue
      }
      if (answer.headers.get('content-type')?.includes('application/json')) {
        expect(JSON.parse(answer.text).choices).toHaveLength(1)
        continue
      }
      const last = sseEvents(answer.text).at(-1)
      if (last !== '[DONE]') expectErrorShape(last)
    }
    expect(upstream.requests).toHaveLength(answers.length)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})
