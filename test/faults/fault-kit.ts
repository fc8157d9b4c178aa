// What the fault tests share: loopback upstreams that misbehave in exactly one way, a gateway on a
// real socket with short provider timeouts, and the checks every fault ends with (nothing left in
// flight, the next call served).
import type { ServerResponse } from 'node:http'
import { expect, vi } from 'vitest'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
} from '../helpers/fake-upstream.js'
import { type Gateway, type ManualClock, startGateway } from '../limits-helpers.js'

/** What an upstream does with one request. */
export type Fault = (req: RecordedRequest, res: ServerResponse) => Promise<void> | void

export const wantsStream = (req: RecordedRequest) =>
  (req.body as { stream?: unknown } | undefined)?.stream === true

/** Resolves when the gateway hung up on (or finished) this exchange. */
const untilClosed = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    if (res.destroyed) resolve()
    else res.once('close', () => resolve())
  })

/** Lets written bytes leave before the socket is cut, as a real upstream dying mid-answer. */
const flushed = () => new Promise((resolve) => setTimeout(resolve, 30))

/** Streams the role chunk and `count - 1` content pieces: `count` events the client will see. */
function writeChunks(res: ServerResponse, count: number): void {
  for (let i = 0; i < count; i++) {
    res.write(sseData(chunkBody(i === 0 ? { role: 'assistant', content: '' } : { content: `piece ${i} ` })))
  }
}

/** A correct answer, JSON or SSE as asked, saying who served it. */
export const healthy =
  (text = 'healthy'): Fault =>
  async (req, res) => {
    if (wantsStream(req)) await streamAnswer(res, [text])
    else sendJson(res, 200, completionBody(text))
  }

/** Headers and part of the body, then the TCP connection is destroyed. */
export const resetMidBody =
  (chunksFirst = 1): Fault =>
  async (req, res) => {
    if (wantsStream(req)) {
      startSse(res)
      writeChunks(res, chunksFirst)
      const next = sseData(chunkBody({ content: 'never finished' }))
      res.write(next.slice(0, next.length / 2))
    } else {
      const text = JSON.stringify(completionBody('never finished'))
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.write(text.slice(0, text.length / 2))
    }
    await flushed()
    res.socket?.destroy()
  }

/** A complete answer whose JSON does not parse. */
export const malformedJson =
  (chunksFirst = 1): Fault =>
  (req, res) => {
    const broken = '{"id": "chatcmpl-broken", "object": "chat.completion", choices: [}'
    if (wantsStream(req)) {
      startSse(res)
      writeChunks(res, chunksFirst)
      res.write(`data: ${broken}\n\n`)
      res.end(sseData('[DONE]'))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(broken)
  }

/**
 * The answer ends cleanly at the HTTP level, but in the middle of a `data:` line (streams) or of the
 * JSON (a chunked body, so nothing tells the gateway it is short but the JSON itself).
 */
export const truncateSseMidEvent =
  (chunksFirst = 1): Fault =>
  (req, res) => {
    if (!wantsStream(req)) {
      const text = JSON.stringify(completionBody('cut here'))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(text.slice(0, text.indexOf('cut')))
      return
    }
    startSse(res)
    writeChunks(res, chunksFirst)
    const next = sseData(chunkBody({ content: 'cut here' }))
    res.end(next.slice(0, next.indexOf('cut')))
  }

const oversizedEventChars = 1_500_000

/** One `data:` line of 1.5 MB that never ends, then silence until the gateway hangs up. */
export const oversizedEvent =
  (chunksFirst = 1): Fault =>
  async (_req, res) => {
    startSse(res)
    writeChunks(res, chunksFirst)
    res.write(`data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(oversizedEventChars)}`)
    await untilClosed(res)
  }

/** Status and headers, then nothing, for ever. */
export const stallAfterHeaders =
  (chunksFirst = 0): Fault =>
  async (req, res) => {
    if (wantsStream(req)) {
      startSse(res)
      writeChunks(res, chunksFirst)
      res.flushHeaders()
    } else {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.flushHeaders()
    }
    await untilClosed(res)
  }

const htmlPage =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>'

/** A proxy in front of the provider answering 200 with its own HTML error page. */
export const htmlErrorPage = (): Fault => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(htmlPage)
}

const openAIRateLimitBody = {
  error: {
    message: 'Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3.',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
}

/** 429 on every call: OpenAI's JSON with Retry-After, or a bare proxy page without it. */
export const tooManyRequests =
  (retryAfter?: string): Fault =>
  (_req, res) => {
    if (retryAfter === undefined) {
      res.writeHead(429, { 'content-type': 'text/html' })
      res.end('<html><body>429 Too Many Requests</body></html>')
      return
    }
    sendJson(res, 429, openAIRateLimitBody, { 'retry-after': retryAfter })
  }

/** Answers after `ms`, unless the gateway hangs up first. */
export const slowHealthy =
  (ms: number): Fault =>
  async (req, res) => {
    const gone = untilClosed(res)
    const waited = await Promise.race([
      new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), ms)),
      gone.then(() => 'gone' as const),
    ])
    if (waited === 'waited') await healthy()(req, res)
  }

/** One chunk, then silence until the gateway hangs up: a long answer the client walks away from. */
export const streamThenWait = (): Fault => async (_req, res) => {
  startSse(res)
  writeChunks(res, 1)
  await untilClosed(res)
}

export interface SwitchableUpstream extends FakeUpstream {
  /** The behaviour for every next request until changed (initially healthy()). */
  set(fault: Fault): void
}

export async function startSwitchableUpstream(): Promise<SwitchableUpstream> {
  let current: Fault = healthy()
  const fake = await startFakeUpstream((req, res) => current(req, res))
  return {
    ...fake,
    set: (fault) => {
      current = fault
    },
  }
}

const faultKey = 'sk-faults-test-key-0123456789'
export const faultKeyId = 'cfg-faults'
export const upstreamSecret = 'sk-upstream-secret-faults-0000'
export const bearer = { authorization: `Bearer ${faultKey}` }

/** Provider timeouts short enough that a stall costs well under a second per attempt. */
export const shortTimeouts = { connect_ms: 1000, first_byte_ms: 600, total_ms: 5000 }

export interface FaultConfigOptions {
  /** Extra attempts per public model (routing.retries); 1 by default. */
  retries?: number
  /** Targets of the public model `chat`, by provider name; default: every upstream. */
  targets?: string[]
  /** Provider names serving the public model `backup`, named as chat's fallback. */
  fallback?: string[]
  /** Per-provider type: openai unless named here. */
  types?: Record<string, string>
  timeouts?: Partial<typeof shortTimeouts>
  keyExtra?: Record<string, unknown>
  extra?: Record<string, unknown>
}

/**
 * One provider per upstream (named like its key), public model `chat` over `targets` in priority
 * order, and a virtual key with max_parallel so its slots can be watched too.
 */
export function faultConfig(
  upstreams: Record<string, FakeUpstream>,
  options: FaultConfigOptions = {},
): Record<string, unknown> {
  const providers = Object.fromEntries(
    Object.entries(upstreams).map(([name, up]) => {
      const type = options.types?.[name] ?? 'openai'
      return [
        name,
        {
          type,
          base_url: type === 'openai' ? up.url : up.origin,
          api_key: upstreamSecret,
          timeouts: { ...shortTimeouts, ...options.timeouts },
        },
      ]
    }),
  )
  const names = options.targets ?? Object.keys(upstreams).filter((n) => !options.fallback?.includes(n))
  const target = (provider: string, priority: number) => ({ provider, model: 'm', priority })
  const models: Record<string, unknown>[] = [
    {
      name: 'chat',
      strategy: 'priority',
      targets: names.map(target),
      ...(options.fallback ? { fallbacks: ['backup'] } : {}),
    },
  ]
  if (options.fallback) models.push({ name: 'backup', targets: options.fallback.map(target) })
  return {
    routing: { retries: options.retries ?? 1, backoff_ms: { base: 1, max: 10 } },
    auth: { keys: [{ name: 'faults', key: faultKey, max_parallel: 8, ...options.keyExtra }] },
    providers,
    models,
    ...options.extra,
  }
}

/** The gateway on a loopback port; `clock` drives the router's breakers (real timers run as usual). */
export const startFaultGateway = (raw: Record<string, unknown>, clock?: ManualClock) =>
  startGateway(raw, clock)

export interface Answer {
  status: number
  headers: Headers
  text: string
  ms: number
}

/** POSTs `body` to `path` with the test key and reads the whole answer, timing it. */
export async function post(
  gateway: Gateway,
  path: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = performance.now()
  const res = await gateway.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer, ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  return {
    status: res.status,
    headers: res.headers as unknown as Headers,
    text,
    ms: performance.now() - started,
  }
}

export const chatRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  messages: [{ role: 'user', content: 'hello' }],
  ...extra,
})

export const postChat = (gateway: Gateway, extra: Record<string, unknown> = {}) =>
  post(gateway, '/v1/chat/completions', chatRequest(extra))

/** The `data:` payloads of an OpenAI SSE body, JSON-parsed except [DONE]. */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)))
}

/** The OpenAI error shape with the fields a test states. */
export const openAIError = (type: string, code: string, message: unknown = expect.any(String)) => ({
  error: { message, type, param: null, code },
})

/**
 * Every counter a call holds is back to zero: the router's in-flight count per target, the
 * anygate_inflight_requests gauge, and the key's max_parallel slots.
 */
export async function expectIdle(gateway: Gateway, targets: string[]): Promise<void> {
  const { app } = gateway
  await vi.waitFor(
    async () => {
      for (const id of targets) expect(app.routerState.stats.inFlight(id), id).toBe(0)
      expect(await app.requestLimits!.parallel.inFlight(faultKeyId)).toBe(0)
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      for (const id of targets) {
        expect(metrics.body).toContain(`anygate_inflight_requests{target="${id}"} 0\n`)
      }
    },
    { timeout: 3000, interval: 20 },
  )
}

/** The next call, with the upstream healthy again, is served normally: JSON and streamed. */
export async function expectNextServed(gateway: Gateway, upstream: SwitchableUpstream): Promise<void> {
  upstream.set(healthy('recovered'))
  const json = await postChat(gateway)
  expect(json.status, json.text).toBe(200)
  expect(JSON.parse(json.text).choices[0].message.content).toBe('recovered')
  const stream = await postChat(gateway, { stream: true })
  expect(stream.status, stream.text).toBe(200)
  expect(stream.text).toContain('recovered')
  expect(stream.text.endsWith('data: [DONE]\n\n')).toBe(true)
}
