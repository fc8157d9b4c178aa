// OpenTelemetry tracing end to end: the gateway exports its spans over OTLP/HTTP (JSON) to a
// collector stand-in on 127.0.0.1, and calls a fake OpenAI upstream that records the traceparent it
// got. Each app is closed before its spans are read: closing flushes the batch.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { request as httpRequest } from 'undici'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { testConfig } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import { completionBody, sendJson, startFakeUpstream, streamAnswer } from './helpers/fake-upstream.js'
import { answer, fail, startScriptedUpstream } from './helpers/routing.js'

type AttributeValue = string | number | boolean | AttributeValue[] | undefined

interface ExportedSpan {
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number
  startNs: bigint
  endNs: bigint
  attributes: Record<string, AttributeValue>
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number
  events: { name: string; attributes: Record<string, AttributeValue> }[]
}

interface OtlpValue {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: OtlpValue[] }
}
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined

function decodeValue(value: OtlpValue): AttributeValue {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decodeValue)
  return undefined
}

const decodeAttributes = (attributes: OtlpAttributes) =>
  Object.fromEntries((attributes ?? []).map((a) => [a.key, decodeValue(a.value)]))

/** A collector stand-in: keeps the OTLP/HTTP JSON exports POSTed to /v1/traces. */
async function startOtlpReceiver() {
  const bodies: string[] = []
  const headers: IncomingHttpHeaders[] = []
  let status = 200
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (req.method === 'POST' && req.url === '/v1/traces') {
      bodies.push(Buffer.concat(chunks).toString('utf8'))
      headers.push(req.headers)
    }
    res.writeHead(req.url === '/v1/traces' ? status : 404, { 'content-type': 'application/json' })
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closeAfterTest(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return {
    origin,
    bodies,
    headers,
    answerWith(code: number) {
      status = code
    },
    spans(): ExportedSpan[] {
      return bodies.flatMap((body) => {
        const parsed = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[]
        }
        return parsed.resourceSpans.flatMap((r) =>
          r.scopeSpans.flatMap((s) =>
            s.spans.map((span) => ({
              traceId: span.traceId as string,
              spanId: span.spanId as string,
              parentSpanId: (span.parentSpanId as string | undefined) || undefined,
              name: span.name as string,
              kind: span.kind as number,
              startNs: BigInt(span.startTimeUnixNano as string),
              endNs: BigInt(span.endTimeUnixNano as string),
              attributes: decodeAttributes(span.attributes as OtlpAttributes),
              status: (span.status as { code?: number } | undefined)?.code ?? 0,
              events: ((span.events as { name: string; attributes: OtlpAttributes }[] | undefined) ?? []).map(
                (e) => ({ name: e.name, attributes: decodeAttributes(e.attributes) }),
              ),
            })),
          ),
        )
      })
    },
    resource(): Record<string, AttributeValue> {
      const parsed = JSON.parse(bodies[0]!) as {
        resourceSpans: { resource: { attributes: OtlpAttributes } }[]
      }
      return decodeAttributes(parsed.resourceSpans[0]!.resource.attributes)
    },
  }
}

/** An app on `raw`, closed after the test; its warnings go to `logs` when given. */
async function buildTracedApp(raw: Record<string, unknown>, logs?: unknown[]): Promise<FastifyInstance> {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs?.push(JSON.parse(String(chunk)))
      callback()
    },
  })
  const app = await buildApp(testConfig(raw), { logger: logs ? pino({ level: 'warn' }, sink) : false })
  closeAfterTest(() => app.close())
  await app.ready()
  return app
}

const callerTrace = '0af7651916cd43dd8448eb211c80319c'
const callerSpan = 'b7ad6b7169203331'
const traceparent = (flags = '01') => `00-${callerTrace}-${callerSpan}-${flags}`
const secretKey = 'sk-tracing-secret-0123456789'
const prompt = 'a prompt that must never reach a span'

function openaiAt(url: string) {
  return { type: 'openai', base_url: url, api_key: secretKey }
}

function chat(app: FastifyInstance, model: string, extra: Record<string, unknown> = {}, headers = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { traceparent: traceparent(), authorization: 'Bearer client-token-xyz', ...headers },
    payload: { model, messages: [{ role: 'user', content: prompt }], ...extra },
  })
}

const byName = (spans: ExportedSpan[], name: string) => spans.filter((s) => s.name === name)
const serverSpanOf = (spans: ExportedSpan[]) => spans.find((s) => s.kind === 2)!

/** The traceparent an upstream received, split into its parts. */
function parentOf(headers: IncomingHttpHeaders) {
  const [version, traceId, spanId, flags] = String(headers.traceparent).split('-')
  return { version, traceId, spanId, flags }
}

describe('tracing on', () => {
  it('exports the server span under the caller, route and attempt spans under it, and sends the attempt upstream', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startFakeUpstream((_req, res) =>
      sendJson(res, 200, completionBody('hi', 'gpt-test-2024-08-06')),
    )
    const app = await buildTracedApp({
      providers: { up: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-test' }] }],
      telemetry: { otlp_endpoint: receiver.origin, service_name: 'gateway-under-test' },
    })

    const res = await chat(app, 'smart')
    expect(res.statusCode).toBe(200)
    await app.close()

    const spans = receiver.spans()
    expect(spans).toHaveLength(3)
    expect(receiver.resource()['service.name']).toBe('gateway-under-test')
    const server = serverSpanOf(spans)
    expect(server).toMatchObject({
      name: 'POST /v1/chat/completions',
      traceId: callerTrace,
      parentSpanId: callerSpan,
      status: 0,
    })
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'url.path': '/v1/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'smart',
      'gen_ai.response.model': 'gpt-test-2024-08-06',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 3,
      'anygate.model': 'smart',
      'anygate.provider': 'up',
      'anygate.attempts': 1,
    })

    const [route] = byName(spans, 'route smart')
    expect(route).toMatchObject({ traceId: callerTrace, parentSpanId: server.spanId, kind: 1 })
    expect(route!.attributes).toMatchObject({
      'anygate.routing.strategy': 'weighted',
      'anygate.routing.order': ['up/gpt-test'],
      'anygate.routing.skipped': [],
    })

    const [attempt] = byName(spans, 'chat gpt-test')
    expect(attempt).toMatchObject({ traceId: callerTrace, parentSpanId: server.spanId, kind: 3, status: 0 })
    const upstreamPort = Number(new URL(upstream.origin).port)
    expect(attempt!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.response.model': 'gpt-test-2024-08-06',
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 3,
      'server.address': '127.0.0.1',
      'server.port': upstreamPort,
      'anygate.model': 'smart',
      'anygate.target': 'up/gpt-test',
      'anygate.attempt': 1,
      'anygate.attempt.outcome': 'success',
    })
    // The attempt lies within the request.
    expect(attempt!.startNs).toBeGreaterThanOrEqual(server.startNs)
    expect(attempt!.endNs).toBeLessThanOrEqual(server.endNs)

    // The upstream's parent is the attempt span, in the caller's trace and sampling.
    expect(parentOf(upstream.requests[0]!.headers)).toEqual({
      version: '00',
      traceId: callerTrace,
      spanId: attempt!.spanId,
      flags: '01',
    })

    // No prompt, provider key or client credential in anything exported.
    const exported = receiver.bodies.join('\n')
    expect(exported).not.toContain(prompt)
    expect(exported).not.toContain(secretKey)
    expect(exported).not.toContain('client-token-xyz')
  })

  it('gives each retry its own attempt span, the failed one marked as an error', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startScriptedUpstream('flaky')
    upstream.script(fail(503), answer())
    const app = await buildTracedApp({
      providers: { flaky: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'flaky', model: 'gpt-test' }] }],
      routing: { retries: 1, backoff_ms: { base: 0, max: 0 } },
      telemetry: { otlp_endpoint: receiver.origin },
    })

    const res = await chat(app, 'smart')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-anygate-attempts']).toBe('2')
    await app.close()

    const spans = receiver.spans()
    const server = serverSpanOf(spans)
    const attempts = byName(spans, 'chat gpt-test').sort((a, b) =>
      Number(a.attributes['anygate.attempt']) < Number(b.attributes['anygate.attempt']) ? -1 : 1,
    )
    expect(attempts).toHaveLength(2)
    for (const attempt of attempts) expect(attempt.parentSpanId).toBe(server.spanId)
    const [first, second] = attempts as [ExportedSpan, ExportedSpan]
    expect(first.status).toBe(2)
    expect(first.attributes).toMatchObject({
      'anygate.attempt': 1,
      'anygate.attempt.outcome': 'failure',
      'anygate.attempt.next': 'retry',
      'error.type': 'status_503',
    })
    expect(first.attributes['gen_ai.usage.input_tokens']).toBeUndefined()
    expect(second.status).toBe(0)
    expect(second.attributes).toMatchObject({
      'anygate.attempt': 2,
      'anygate.attempt.outcome': 'success',
      'gen_ai.usage.output_tokens': 3,
    })
    expect(server.attributes['anygate.attempts']).toBe(2)

    // Each upstream request names its own attempt as parent.
    expect(upstream.requests.map((r) => parentOf(r.headers).spanId)).toEqual([first.spanId, second.spanId])
  })

  it('shows a fallback: a route span per model, the failed attempt, and a fallback event', async () => {
    const receiver = await startOtlpReceiver()
    const down = await startScriptedUpstream('down')
    down.always(fail(503))
    const up = await startScriptedUpstream('up')
    const app = await buildTracedApp({
      providers: { down: openaiAt(down.url), up: openaiAt(up.url) },
      models: [
        { name: 'smart', targets: [{ provider: 'down', model: 'gpt-a' }], fallbacks: ['backup'] },
        { name: 'backup', targets: [{ provider: 'up', model: 'gpt-b' }] },
      ],
      routing: { retries: 0 },
      telemetry: { otlp_endpoint: receiver.origin },
    })

    const res = await chat(app, 'smart')
    expect(res.statusCode).toBe(200)
    await app.close()

    const spans = receiver.spans()
    const server = serverSpanOf(spans)
    for (const name of ['route smart', 'route backup', 'chat gpt-a', 'chat gpt-b']) {
      expect(byName(spans, name).map((s) => s.parentSpanId)).toEqual([server.spanId])
    }
    expect(byName(spans, 'chat gpt-a')[0]!.attributes).toMatchObject({
      'anygate.attempt.next': 'fallback',
      'anygate.model': 'smart',
    })
    expect(byName(spans, 'chat gpt-b')[0]!.attributes).toMatchObject({
      'anygate.attempt': 2,
      'anygate.model': 'backup',
      'anygate.attempt.outcome': 'success',
    })
    expect(server.events).toEqual([
      {
        name: 'anygate.fallback',
        attributes: {
          'anygate.fallback.from': 'smart',
          'anygate.fallback.to': 'backup',
          'anygate.fallback.kind': 'general',
        },
      },
    ])
    expect(server.attributes).toMatchObject({
      'gen_ai.request.model': 'smart',
      'anygate.model': 'backup',
      'anygate.fallback_from': 'smart',
    })
  })

  it('records a stream with its usage, the server and attempt spans ending after its last byte', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startFakeUpstream((_req, res) => streamAnswer(res, ['Hel', 'lo']))
    const app = await buildTracedApp({
      providers: { up: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-test' }] }],
      telemetry: { otlp_endpoint: receiver.origin },
    })

    const res = await chat(app, 'smart', { stream: true })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('[DONE]')
    await app.close()

    const spans = receiver.spans()
    const server = serverSpanOf(spans)
    const [attempt] = byName(spans, 'chat gpt-test')
    for (const span of [server, attempt!]) {
      expect(span.attributes).toMatchObject({
        'gen_ai.response.model': 'gpt-test',
        'gen_ai.usage.input_tokens': 7,
        'gen_ai.usage.output_tokens': 3,
      })
    }
    expect(server.attributes['anygate.stream_error']).toBeUndefined()
    expect(attempt!.endNs).toBeLessThanOrEqual(server.endNs)
  })

  it('ends the spans of a stream the client cut, marked as aborted', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startFakeUpstream(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(
        `data: ${JSON.stringify({ ...completionBody(''), object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n`,
      )
      await req.ended
    })
    const app = await buildTracedApp({
      providers: { up: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-test' }] }],
      telemetry: { otlp_endpoint: receiver.origin },
    })
    const origin = await app.listen({ port: 0, host: '127.0.0.1' })

    const response = await httpRequest(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: traceparent() },
      body: JSON.stringify({ model: 'smart', stream: true, messages: [{ role: 'user', content: prompt }] }),
    })
    for await (const chunk of response.body) {
      expect(String(chunk)).toContain('Hel')
      break
    }
    await expect.poll(() => upstream.requests[0]?.aborted).toBe(true)
    await app.close()

    const spans = receiver.spans()
    const server = serverSpanOf(spans)
    expect(server.attributes).toMatchObject({
      'anygate.client_aborted': true,
      'http.response.status_code': 200,
    })
    expect(server.status).toBe(0)
    expect(byName(spans, 'chat gpt-test')).toHaveLength(1)
  })

  it('follows a caller that did not sample: nothing exported, the decision passed upstream', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, completionBody('hi')))
    const app = await buildTracedApp({
      providers: { up: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-test' }] }],
      telemetry: { otlp_endpoint: receiver.origin },
    })

    expect((await chat(app, 'smart', {}, { traceparent: traceparent('00') })).statusCode).toBe(200)
    await app.close()

    expect(receiver.spans()).toEqual([])
    const sent = parentOf(upstream.requests[0]!.headers)
    expect(sent).toMatchObject({ traceId: callerTrace, flags: '00' })
    expect(sent.spanId).not.toBe(callerSpan)
  })

  it('starts a new trace without a traceparent, and leaves health probes out', async () => {
    const receiver = await startOtlpReceiver()
    const app = await buildTracedApp({
      providers: { mock: { type: 'mock' } },
      telemetry: {
        otlp_endpoint: `${receiver.origin}/v1/traces`,
        headers: { authorization: 'Bearer collector' },
      },
    })

    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { model: 'mock/fixed', messages: [{ role: 'user', content: prompt }] },
    })
    expect(res.statusCode).toBe(200)
    const missing = await app.inject({ method: 'GET', url: '/v1/nowhere?x=1' })
    expect(missing.statusCode).toBe(404)
    const embedded = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { model: 'mock/embed', input: prompt },
    })
    expect(embedded.statusCode).toBe(200)
    const message = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      payload: { model: 'mock/fixed', max_tokens: 16, messages: [{ role: 'user', content: prompt }] },
    })
    expect(message.statusCode).toBe(200)
    await app.close()

    expect(receiver.headers[0]?.authorization).toBe('Bearer collector')
    const spans = receiver.spans()
    const servers = spans.filter((s) => s.kind === 2)
    expect(servers.map((s) => s.name).sort()).toEqual([
      'GET',
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
      'POST /v1/messages',
    ])
    // gen_ai.operation.name: the Messages API is a chat too.
    expect(
      spans
        .filter((s) => s.kind === 3)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['chat fixed', 'chat fixed', 'embeddings embed'])
    const chatSpan = servers.find((s) => s.name === 'POST /v1/chat/completions')!
    expect(chatSpan.parentSpanId).toBeUndefined()
    expect(chatSpan.attributes['gen_ai.provider.name']).toBe('anygate.mock')
    const notFound = servers.find((s) => s.name === 'GET')!
    expect(notFound.attributes).toMatchObject({ 'url.path': '/v1/nowhere', 'http.response.status_code': 404 })
    expect(notFound.attributes['http.route']).toBeUndefined()
  })

  it('marks a request that failed upstream as an error, by its code', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startScriptedUpstream('down')
    upstream.always(fail(500, { message: `upstream says: ${prompt}` }))
    const app = await buildTracedApp({
      providers: { down: openaiAt(upstream.url) },
      models: [{ name: 'smart', targets: [{ provider: 'down', model: 'gpt-test' }] }],
      routing: { retries: 0 },
      telemetry: { otlp_endpoint: receiver.origin },
    })

    expect((await chat(app, 'smart')).statusCode).toBe(502)
    await app.close()

    const spans = receiver.spans()
    const server = serverSpanOf(spans)
    expect(server.status).toBe(2)
    expect(server.attributes).toMatchObject({
      'http.response.status_code': 502,
      'error.type': 'upstream_error',
    })
    const [attempt] = byName(spans, 'chat gpt-test')
    expect(attempt).toMatchObject({ status: 2 })
    expect(attempt!.attributes).toMatchObject({
      'anygate.attempt.next': 'give-up',
      'error.type': 'status_502',
    })
    expect(receiver.bodies.join('\n')).not.toContain(prompt)
  })

  it('logs a failing collector as a warning', async () => {
    const receiver = await startOtlpReceiver()
    receiver.answerWith(400)
    const logs: { msg?: string }[] = []
    const app = await buildTracedApp(
      { providers: { mock: { type: 'mock' } }, telemetry: { otlp_endpoint: receiver.origin } },
      logs,
    )
    await app.inject({ method: 'GET', url: '/v1/models' })
    await app.close()
    expect(receiver.bodies).toHaveLength(1)
    expect(logs.some((line) => line.msg === 'trace export failed')).toBe(true)
  })
})

describe('tracing off', () => {
  it('exports nothing and sends no traceparent upstream, even beside a traced app', async () => {
    const receiver = await startOtlpReceiver()
    const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, completionBody('hi')))
    const providers = { up: openaiAt(upstream.url) }
    const models = [{ name: 'smart', targets: [{ provider: 'up', model: 'gpt-test' }] }]
    // Another app in the process traces: the untraced one must not pick anything up from it.
    const traced = await buildTracedApp({ providers, models, telemetry: { otlp_endpoint: receiver.origin } })
    const untraced = await buildTracedApp({ providers, models, telemetry: { otlp_endpoint: '' } })

    const res = await chat(untraced, 'smart')
    expect(res.statusCode).toBe(200)
    expect(untraced.hasRequestDecorator('requestTrace')).toBe(false)
    await untraced.close()
    await traced.close()

    expect(receiver.bodies).toEqual([])
    expect(upstream.requests[0]!.headers.traceparent).toBeUndefined()
  })
})
