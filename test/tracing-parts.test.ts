// The parts of tracing that need no collector: the telemetry config, the attribute mapping, the
// request-id bookkeeping for the router's events and how the router lets tracing wrap an attempt.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config file's interpolation
import { describe, expect, it } from 'vitest'
import { RouterObservers } from '../plugins/router/events.js'
import {
  genAiOperation,
  genAiProviderName,
  responseModelOf,
  serverSpanAttributes,
  serverSpanName,
  upstreamAddress,
  usageAttributes,
} from '../plugins/tracing/attributes.js'
import { tracesUrl } from '../plugins/tracing/config-schema.js'
import { throttledFailureLog } from '../plugins/tracing/provider.js'
import { type RequestTrace, RequestTraces } from '../plugins/tracing/request-trace.js'
import { configProblems, mockOnly, testConfig } from './helpers/app.js'

describe('telemetry config', () => {
  it('is off with defaults when absent, or when the endpoint is empty', () => {
    expect(testConfig(mockOnly).telemetry).toEqual({
      service_name: 'anygate',
      headers: {},
      sample_ratio: 1,
      propagate_upstream: true,
      batch_delay_ms: 5000,
      export_timeout_ms: 10_000,
    })
    const fromEnv = testConfig({ ...mockOnly, telemetry: { otlp_endpoint: '${OTEL_ENDPOINT:-}' } })
    expect(fromEnv.telemetry.otlp_endpoint).toBe('')
  })

  it('takes the endpoint and the collector headers from the environment', () => {
    const config = testConfig(
      {
        ...mockOnly,
        telemetry: { otlp_endpoint: '${OTEL_ENDPOINT}', headers: { authorization: 'Bearer ${OTEL_TOKEN}' } },
      },
      { OTEL_ENDPOINT: 'https://collector.example:4318', OTEL_TOKEN: 't0k' },
    )
    expect(config.telemetry.otlp_endpoint).toBe('https://collector.example:4318')
    expect(config.telemetry.headers).toEqual({ authorization: 'Bearer t0k' })
  })

  it('names every bad field', () => {
    const problems = configProblems({
      ...mockOnly,
      telemetry: { otlp_endpoint: 'collector:4318', sample_ratio: 2, exporter: 'zipkin' },
    })
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^telemetry\.otlp_endpoint: must be the http\(s\) URL of an OTLP\/HTTP collector/,
        ),
        expect.stringMatching(/^telemetry\.sample_ratio: must be between 0 and 1/),
        expect.stringMatching(/^telemetry/),
      ]),
    )
    expect(problems.some((p) => p.includes('exporter'))).toBe(true)
  })

  it('exports to /v1/traces under the endpoint unless it names it already', () => {
    expect(tracesUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces')
    expect(tracesUrl('https://otel.example/otlp/')).toBe('https://otel.example/otlp/v1/traces')
    expect(tracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces')
  })
})

describe('attributes', () => {
  it('maps provider types to the gen_ai provider names of the semantic conventions', () => {
    expect(['openai', 'anthropic', 'gemini', 'azure', 'ollama', 'mock'].map(genAiProviderName)).toEqual([
      'openai',
      'anthropic',
      'gcp.gemini',
      'azure.ai.openai',
      'ollama',
      'anygate.mock',
    ])
    expect(genAiProviderName('my-plugin')).toBe('my-plugin')
    expect(genAiProviderName(undefined)).toBe('_OTHER')
    expect(['chat', 'messages', 'embeddings'].map((k) => genAiOperation(k as 'chat'))).toEqual([
      'chat',
      'chat',
      'embeddings',
    ])
  })

  it('names the server span by route, and keeps the query string out of url.path', () => {
    expect(serverSpanName('POST', '/v1/chat/completions')).toBe('POST /v1/chat/completions')
    expect(serverSpanName('GET', undefined)).toBe('GET')
    expect(
      serverSpanAttributes({
        method: 'GET',
        url: '/v1/models/x?secret=1',
        protocol: 'http',
        hostname: 'gw.local',
        port: 8080,
        route: '/v1/models/:id',
        httpVersion: '1.1',
        userAgent: 'openai-node',
      }),
    ).toEqual({
      'http.request.method': 'GET',
      'url.path': '/v1/models/x',
      'url.scheme': 'http',
      'server.address': 'gw.local',
      'server.port': 8080,
      'network.protocol.version': '1.1',
      'http.route': '/v1/models/:id',
      'user_agent.original': 'openai-node',
    })
  })

  it('reports usage, cached prompt tokens only when there are some', () => {
    expect(usageAttributes({ prompt: 10, completion: 2, cachedPrompt: 0 })).toEqual({
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 2,
    })
    expect(usageAttributes({ prompt: 10, completion: 2, cachedPrompt: 8 })).toMatchObject({
      'gen_ai.usage.cache_read.input_tokens': 8,
    })
  })

  it('finds the upstream address and the model an answer names', () => {
    expect(upstreamAddress('https://api.openai.com/v1')).toEqual({
      'server.address': 'api.openai.com',
      'server.port': 443,
    })
    expect(upstreamAddress(undefined)).toEqual({})
    expect(responseModelOf({ object: 'chat.completion', model: 'gpt-4o-2024-08-06' })).toBe(
      'gpt-4o-2024-08-06',
    )
    expect(responseModelOf({ type: 'message_start', message: { model: 'claude-x' } })).toBe('claude-x')
    expect(responseModelOf({ type: 'content_block_delta' })).toBeUndefined()
    expect(responseModelOf('data')).toBeUndefined()
  })
})

describe('RequestTraces', () => {
  const fakeTrace = (name: string) => ({ name }) as unknown as RequestTrace

  it('finds a trace by request id until it is removed', () => {
    const traces = new RequestTraces()
    const one = fakeTrace('one')
    traces.add('req-1', one)
    expect(traces.get('req-1')).toBe(one)
    traces.remove('req-1')
    expect(traces.get('req-1')).toBeUndefined()
    expect(traces.size).toBe(0)
  })

  it('drops the events of two requests in flight under one id, and forgets the id once both ended', () => {
    const traces = new RequestTraces()
    traces.add('dup', fakeTrace('first'))
    traces.add('dup', fakeTrace('second'))
    expect(traces.get('dup')).toBeUndefined()
    traces.remove('dup')
    expect(traces.size).toBe(1)
    traces.remove('dup')
    expect(traces.size).toBe(0)
  })

  it("runs an attempt directly when the request isn't traced", async () => {
    const observer = new RequestTraces().observer()
    await expect(observer.attemptScope!('unknown', 1, async () => 'answer')).resolves.toBe('answer')
  })
})

describe('RouterObservers.inAttemptScope', () => {
  it('calls directly without scopes, and nests scopes in the order they were added', async () => {
    const observers = new RouterObservers()
    expect(observers.scopesAttempts).toBe(false)
    const order: string[] = []
    const scope =
      (name: string) =>
      async <T>(requestId: string, attempt: number, run: () => Promise<T>) => {
        order.push(`${name} in ${requestId}#${attempt}`)
        const value = await run()
        order.push(`${name} out`)
        return value
      }
    observers.add({ attemptScope: scope('outer') })
    observers.add({ attemptEnd: () => {} })
    observers.add({ attemptScope: scope('inner') })
    expect(observers.scopesAttempts).toBe(true)
    const value = await observers.inAttemptScope('r', 2, async () => {
      order.push('call')
      return 42
    })
    expect(value).toBe(42)
    expect(order).toEqual(['outer in r#2', 'inner in r#2', 'call', 'inner out', 'outer out'])
  })
})

describe('throttledFailureLog', () => {
  it('reports the first failure, then at most one a minute', () => {
    let now = 0
    const seen: (string | undefined)[] = []
    const log = throttledFailureLog(
      (error) => seen.push(error?.message),
      () => now,
    )
    log(new Error('a'))
    now = 59_999
    log(new Error('b'))
    now = 60_000
    log(new Error('c'))
    expect(seen).toEqual(['a', 'c'])
  })
})
