// The soak's request plans and the checks of each answer against its plan: which calls must
// succeed, which may end in a clean error, and what counts as clean.
import { describe, expect, it } from 'vitest'
import { chatChunks, usageChunk } from '../bench/chat-payloads.js'
import { judgeResponse, outcomeOf } from '../bench/soak-checks.js'
import { soakRequest } from '../bench/soak-payloads.js'
import {
  defaultMix,
  expectationOf,
  type FaultPlan,
  faultMarker,
  isStreamKind,
  kindShares,
  parseFaultMarker,
  planRequest,
  type RequestPlan,
  requestKinds,
  seededRandom,
} from '../bench/soak-plan.js'

const plans = (count: number, seed = 1) => {
  const random = seededRandom(seed)
  return Array.from({ length: count }, (_, i) => planRequest(i + 1, random))
}

describe('planRequest', () => {
  it('replays the same mix from the same seed', () => {
    expect(plans(200, 5)).toEqual(plans(200, 5))
    expect(plans(200, 5)).not.toEqual(plans(200, 6))
  })

  it('mixes the kinds and faults in about the shares asked for', () => {
    const all = plans(20_000)
    for (const kind of requestKinds) {
      const share = all.filter((plan) => plan.kind === kind).length / all.length
      expect(share, kind).toBeGreaterThan(kindShares[kind] - 0.02)
      expect(share, kind).toBeLessThan(kindShares[kind] + 0.02)
    }
    const faulted = all.filter((plan) => plan.fault).length / all.length
    expect(faulted).toBeGreaterThan(defaultMix.faultShare - 0.01)
    expect(faulted).toBeLessThan(defaultMix.faultShare + 0.01)
    expect(all.some((plan) => plan.abortAfterEvents !== undefined)).toBe(true)
    expect(all.some((plan) => plan.cacheVariant !== undefined)).toBe(true)
  })

  it('never faults a cacheable or aborted call, and strikes mid-stream only in streams, between chunks', () => {
    for (const plan of plans(20_000)) {
      if (plan.fault) {
        expect(plan.cacheVariant).toBeUndefined()
        expect(plan.abortAfterEvents).toBeUndefined()
      }
      if (plan.fault?.at === 'mid') {
        expect(isStreamKind(plan.kind)).toBe(true)
        expect(plan.fault.afterChunks).toBeGreaterThanOrEqual(1)
        expect(plan.fault.afterChunks).toBeLessThan(defaultMix.streamChunks - 1)
      }
      if (plan.abortAfterEvents !== undefined) {
        expect(isStreamKind(plan.kind)).toBe(true)
        expect(plan.abortAfterEvents).toBeLessThan(defaultMix.streamChunks)
      }
    }
  })
})

describe('expectationOf', () => {
  const fault = (at: FaultPlan['at'], attempts: FaultPlan['attempts']): FaultPlan => ({
    type: 'reset',
    at,
    attempts,
    afterChunks: at === 'mid' ? 3 : 0,
  })
  it.each([
    ['no fault', { seq: 1, kind: 'chat' }, 'success'],
    [
      'a fault on the first attempt only: the retry must save it',
      { seq: 1, kind: 'chat', fault: fault('start', 'first') },
      'success',
    ],
    [
      'a fault on every attempt',
      { seq: 1, kind: 'embeddings', fault: fault('start', 'every') },
      'clean-error',
    ],
    [
      'a fault after the first chunk: never retried',
      { seq: 1, kind: 'chat-stream', fault: fault('mid', 'first') },
      'clean-error',
    ],
    ['a planned abort', { seq: 1, kind: 'messages-stream', abortAfterEvents: 5 }, 'client-abort'],
  ] as [string, RequestPlan, string][])('%s', (_name, plan, expected) => {
    expect(expectationOf(plan)).toBe(expected)
  })
})

describe('fault markers', () => {
  it('round-trip through the request body, whatever the route', () => {
    const fault: FaultPlan = { type: 'status-429', at: 'start', attempts: 'every', afterChunks: 0 }
    for (const kind of requestKinds) {
      const request = soakRequest({ seq: 42, kind, fault }, 'soak-client-key')
      expect(parseFaultMarker(request.body), kind).toEqual({ seq: 42, fault })
    }
    expect(faultMarker(7, { ...fault, type: 'stall', at: 'mid', afterChunks: 12 })).toBe(
      'soak-fault:7:stall:mid:every:12',
    )
  })

  it('are absent from healthy and cacheable requests; unique embeddings are not stored', () => {
    const cached = soakRequest({ seq: 3, kind: 'embeddings', cacheVariant: 2 }, 'k')
    expect(parseFaultMarker(cached.body)).toBeUndefined()
    expect(cached.headers['cache-control']).toBeUndefined()
    expect(soakRequest({ seq: 4, kind: 'embeddings' }, 'k').headers['cache-control']).toBe('no-store')
    expect(JSON.parse(soakRequest({ seq: 5, kind: 'chat', cacheVariant: 1 }, 'k').body).temperature).toBe(0)
    expect(parseFaultMarker('soak-fault:1:melt:start:first:0')).toBeUndefined()
  })
})

const sse = (payloads: unknown[]) =>
  payloads.map((p) => `data: ${typeof p === 'string' ? p : JSON.stringify(p)}\n\n`).join('')
const stream = (text: string) => ({ status: 200, contentType: 'text/event-stream; charset=utf-8', text })
const json = (status: number, body: unknown) => ({
  status,
  contentType: 'application/json; charset=utf-8',
  text: JSON.stringify(body),
})
const openAIError = {
  error: { message: 'upstream reset', type: 'upstream_error', param: null, code: 'upstream_unreachable' },
}
const anthropicError = { type: 'error', error: { type: 'api_error', message: 'upstream reset' } }
const chunks = 5

describe('judgeResponse', () => {
  it('accepts complete answers of each kind', () => {
    const chat = { choices: [{ message: { role: 'assistant', content: 'hi' } }] }
    expect(judgeResponse('chat', json(200, chat), [], chunks)).toEqual({ verdict: 'ok' })
    expect(judgeResponse('embeddings', json(200, { data: [{ embedding: [0.1] }] }), [], chunks)).toEqual({
      verdict: 'ok',
    })
    expect(judgeResponse('messages', json(200, { type: 'message', content: [] }), [], chunks)).toEqual({
      verdict: 'ok',
    })
    const full = sse([...chatChunks(chunks), usageChunk(chunks), '[DONE]'])
    expect(judgeResponse('chat-stream', stream(full), [], chunks)).toEqual({ verdict: 'ok' })
    const messages =
      'event: message_start\ndata: {"type":"message_start"}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    expect(judgeResponse('messages-stream', stream(messages), [], chunks)).toEqual({ verdict: 'ok' })
  })

  it('calls a stream that lost a chunk, or stopped without [DONE] or an error event, a problem', () => {
    const short = sse([...chatChunks(chunks).slice(1), '[DONE]'])
    expect(judgeResponse('chat-stream', stream(short), [], chunks)).toEqual({
      verdict: 'problem',
      problem: '4 content chunks instead of 5',
    })
    const cut = sse(chatChunks(chunks).slice(0, 2))
    expect(judgeResponse('chat-stream', stream(cut), [], chunks).verdict).toBe('problem')
  })

  it('takes an OpenAI error (HTTP or a final stream event) and an Anthropic one on /v1/messages as clean', () => {
    expect(judgeResponse('chat', json(502, openAIError), [], chunks)).toEqual({
      verdict: 'clean-error',
      code: '502 upstream_unreachable',
    })
    const broken = sse([...chatChunks(chunks).slice(0, 2), openAIError])
    expect(judgeResponse('chat-stream', stream(broken), [], chunks)).toEqual({
      verdict: 'clean-error',
      code: 'stream upstream_unreachable',
    })
    expect(judgeResponse('messages', json(504, anthropicError), [], chunks)).toEqual({
      verdict: 'clean-error',
      code: '504 api_error',
    })
    const messages = `event: message_start\ndata: {}\n\nevent: error\ndata: ${JSON.stringify(anthropicError)}\n\n`
    expect(judgeResponse('messages-stream', stream(messages), [], chunks)).toEqual({
      verdict: 'clean-error',
      code: 'stream api_error',
    })
  })

  it('calls an error without the route error shape, an HTML page or a leaked key a problem', () => {
    expect(
      judgeResponse('chat', { status: 502, contentType: 'text/html', text: '<html>' }, [], chunks).verdict,
    ).toBe('problem')
    expect(judgeResponse('messages', json(502, openAIError), [], chunks).verdict).toBe('problem')
    expect(judgeResponse('chat', json(500, { error: { message: 'x' } }), [], chunks).verdict).toBe('problem')
    const leaked = json(401, { error: { ...openAIError.error, message: 'bad key sk-secret-123' } })
    expect(judgeResponse('chat', leaked, ['sk-secret-123'], chunks)).toEqual({
      verdict: 'problem',
      problem: 'a secret key appeared in the response',
    })
  })
})

describe('outcomeOf', () => {
  it('holds each answer to its plan', () => {
    const clean = { verdict: 'clean-error', code: '502 upstream_unreachable' } as const
    expect(outcomeOf('success', { verdict: 'ok' })).toEqual({ outcome: 'ok' })
    expect(outcomeOf('clean-error', clean)).toEqual({ outcome: 'expected-error' })
    expect(outcomeOf('success', clean)).toEqual({
      outcome: 'unexpected',
      problem: 'a clean error (502 upstream_unreachable) where success was expected',
    })
    expect(outcomeOf('clean-error', { verdict: 'ok' }).outcome).toBe('unexpected')
    expect(outcomeOf('clean-error', { verdict: 'problem', problem: 'cut' })).toEqual({
      outcome: 'unexpected',
      problem: 'cut',
    })
  })
})
