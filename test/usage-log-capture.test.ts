// The usage log's pure parts: assembling a streamed answer (chat chunks with tool calls and several
// choices, Anthropic Messages events), bounded; cutting bodies at a UTF-8 boundary; embeddings
// without their vectors; error codes; and the record for a call that never reached an upstream.
import { describe, expect, it } from 'vitest'
import { answerBody, errorCodeOf, toLoggedBody, utf8Prefix } from '../plugins/usage-log/bodies.js'
import { routingFromHeaders, toUsageRecord } from '../plugins/usage-log/record.js'
import { createRedactor } from '../plugins/usage-log/redact.js'
import { captureChatStream, captureMessageStream } from '../plugins/usage-log/stream-capture.js'

const chunk = (choices: unknown[]) => ({ object: 'chat.completion.chunk', choices })

describe('stream capture', () => {
  it('assembles content, reasoning and tool calls per choice', () => {
    const capture = captureChatStream(10_000)
    expect(capture.result()).toBeNull()
    capture.chunk(chunk([{ index: 0, delta: { role: 'assistant', content: '' } }]))
    capture.chunk(chunk([{ index: 0, delta: { reasoning_content: 'think' } }]))
    capture.chunk(
      chunk([
        { index: 0, delta: { content: 'Hel' } },
        { index: 1, delta: { content: 'Other' } },
      ]),
    )
    capture.chunk(chunk([{ index: 0, delta: { content: 'lo' } }]))
    capture.chunk(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [{ index: 0, id: 'call_1', function: { name: 'get_weather', arguments: '{"ci' } }],
          },
        },
      ]),
    )
    capture.chunk(
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] } }]),
    )
    capture.chunk(
      chunk([
        { index: 0, delta: {}, finish_reason: 'tool_calls' },
        { index: 1, delta: {}, finish_reason: 'stop' },
      ]),
    )
    capture.chunk({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1 } })
    capture.end?.(true)
    expect(capture.result()).toEqual({
      choices: [
        {
          index: 0,
          content: 'Hello',
          reasoning_content: 'think',
          tool_calls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
          finish_reason: 'tool_calls',
        },
        { index: 1, content: 'Other', finish_reason: 'stop' },
      ],
    })
    expect(capture.truncated).toBe(false)
  })

  it('keeps at most maxChars of a long stream and says it was cut', () => {
    const capture = captureChatStream(10)
    for (let i = 0; i < 1000; i++) capture.chunk(chunk([{ index: 0, delta: { content: 'abcd' } }]))
    expect(capture.result()).toEqual({ choices: [{ index: 0, content: 'abcdabcdab', finish_reason: null }] })
    expect(capture.truncated).toBe(true)
  })

  it('assembles an Anthropic Messages stream into its blocks', () => {
    const capture = captureMessageStream(10_000)
    const events = [
      { type: 'message_start', message: { id: 'msg_1', content: [] } },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'ping' },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me ' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'check.' } },
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'tu_1', name: 'lookup', input: {} },
      },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"q":' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '"x"}' } },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 9 },
      },
      { type: 'message_stop' },
    ]
    for (const event of events) capture.chunk(event)
    expect(capture.result()).toEqual({
      content: [
        { type: 'thinking', thinking: 'hmm' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'tu_1', name: 'lookup', input: '{"q":"x"}' },
      ],
      stop_reason: 'tool_use',
    })
  })
})

describe('logged bodies', () => {
  const redactor = createRedactor({ builtin: ['email'], patterns: [], replacement: '[redacted]' })

  it('cuts at a character boundary, within the byte limit', () => {
    expect(utf8Prefix('héllo', 100)).toBe('héllo')
    expect(utf8Prefix('héllo', 2)).toBe('h') // é is two bytes: not cut in half
    expect(utf8Prefix('h🙂', 4)).toBe('h')
    expect(utf8Prefix('h🙂', 5)).toBe('h🙂')
  })

  it('redacts before cutting, so a cut never uncovers a secret', () => {
    const body = { messages: [{ content: `${'x'.repeat(20)} jane@example.com ${'y'.repeat(200)}` }] }
    const logged = toLoggedBody(body, redactor, 60)
    expect(logged.truncated).toBe(true)
    expect(logged.value).toBe(`{"messages":[{"content":"${'x'.repeat(20)} [redacted] yyy`)
    expect(toLoggedBody({ a: 'bob@example.org' }, redactor, 100)).toEqual({
      value: { a: '[redacted]' },
      truncated: false,
    })
  })

  it('logs embeddings without their vectors, and answers that are not JSON as text', () => {
    const answer = JSON.stringify({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.1, 0.2] },
        { object: 'embedding', index: 1, embedding: 'AAAAAA==' },
      ],
    })
    expect(answerBody('embeddings', 200, answer)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: '[2 floats]' },
        { object: 'embedding', index: 1, embedding: '[base64, 8 chars]' },
      ],
    })
    expect(answerBody('chat', 200, 'not json')).toBe('not json')
  })

  it('reads the error code, else the type, of an error answer', () => {
    expect(errorCodeOf('{"error":{"message":"m","type":"t","param":null,"code":"c"}}')).toBe('c')
    expect(errorCodeOf('{"type":"error","error":{"type":"overloaded_error","code":null}}')).toBe(
      'overloaded_error',
    )
    expect(errorCodeOf('{"ok":true}')).toBeNull()
    expect(errorCodeOf('<html>')).toBeNull()
  })
})

describe('usage records', () => {
  it('describes a routed error from its headers, and a client that left before any answer as 499', () => {
    const headers: Record<string, string> = {
      'x-anygate-provider': 'up',
      'x-anygate-model': 'gpt-test',
      'x-anygate-attempts': '3',
      'x-anygate-fallback': 'fast -> backup',
    }
    const routing = routingFromHeaders((name) => headers[name])
    expect(routing).toEqual({
      provider: 'up',
      upstreamModel: 'gpt-test',
      attempts: 3,
      fallbackFrom: 'fast',
      cache: undefined,
    })
    const record = toUsageRecord({
      now: Date.parse('2025-01-02T03:04:05.678Z'),
      requestId: 'r1',
      route: '/v1/chat/completions',
      kind: 'chat',
      status: 200,
      elapsedMs: 12.3456,
      principal: { id: 'key_1', name: 'team' },
      gateway: null,
      body: { model: 'fast', stream: false },
      routing,
      aborted: true,
      errorCode: null,
    })
    expect(record).toEqual({
      log: 'usage',
      ts: '2025-01-02T03:04:05.678Z',
      request_id: 'r1',
      key_id: 'key_1',
      key_name: 'team',
      route: '/v1/chat/completions',
      kind: 'chat',
      model: 'fast',
      provider: 'up',
      upstream_model: 'gpt-test',
      attempts: 3,
      fallback_from: 'fast',
      stream: false,
      cache: null,
      status: 499,
      error_code: null,
      prompt_tokens: null,
      completion_tokens: null,
      cached_prompt_tokens: null,
      cost_usd: null,
      latency_ms: 12.35,
      ttft_ms: null,
      stream_error: null,
    })
  })
})
