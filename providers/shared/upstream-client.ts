// HTTP to one upstream origin: a keep-alive undici Pool, the three timeouts from config, and the
// client's AbortSignal wired through, with undici's failures mapped to gateway errors. Calls go
// through pool.dispatch() with a handler of our own (upstream-body.ts), not request()'s Readable.

// The Pool module alone, not undici's index: the index loads fetch, WebSocket, the cache and more
// (1.1 MB of source, ~4 MB of a gateway's resident memory) that a gateway never calls. See
// undici-modules.d.ts; test/undici-modules.test.ts fails if an undici release moves these files.
import type { Pool as UndiciPool } from 'undici'
import Pool from 'undici/lib/dispatcher/pool.js'
import type { Timeouts } from '../../config/schema.js'
import {
  ClientAbortError,
  GatewayError,
  upstreamBadResponse,
  upstreamTimeout,
  upstreamUnreachable,
} from '../../plugins/gateway-error.js'
import { withTraceHeaders } from '../../plugins/tracing/upstream-headers.js'
import { attachRawJson } from './raw-json.js'
import { SseBatchReader, type SseTranslator } from './sse-reader.js'
import { UpstreamBody } from './upstream-body.js'

export interface UpstreamClientOptions {
  provider: string
  baseUrl: string
  timeouts: Timeouts
  maxConnections: number
  /** Sent on every call: auth and the operator's extra headers. */
  headers: Record<string, string>
}

export interface UpstreamRequest {
  method: 'GET' | 'POST'
  /** Appended to the base URL's path; may carry a query string. */
  path: string
  body?: string
  signal: AbortSignal
  /** This call's headers over the configured ones: a client's own key (providers/shared/client-key.ts). */
  headers?: Record<string, string>
}

/** What a provider needs to turn a refusal into its gateway error: its own body format. */
export interface UpstreamRefusal {
  status: number
  body: string
  retryAfter: string | undefined
}

export interface UpstreamResponse {
  statusCode: number
  headers: UpstreamBody['headers']
  body: UpstreamBody
}

export interface UpstreamCall {
  response: UpstreamResponse
  /** Wraps a failure while reading the body into the same gateway errors as the call itself. */
  mapError(err: unknown): Error
}

/** The most a JSON answer may be; past it the call is aborted. */
const maxJsonBytes = 256 * 1024 * 1024

const undiciTimeoutPhases: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'first byte',
  UND_ERR_BODY_TIMEOUT: 'idle body',
}

export class UpstreamClient {
  readonly #pool: UndiciPool
  readonly #basePath: string
  readonly #headers: Record<string, string>

  constructor(private readonly options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl)
    this.#basePath = url.pathname.replace(/\/+$/, '')
    this.#headers = { 'content-type': 'application/json', accept: 'application/json', ...options.headers }
    this.#pool = new Pool(url.origin, {
      connections: options.maxConnections,
      connect: { timeout: options.timeouts.connect_ms },
      headersTimeout: options.timeouts.first_byte_ms,
      // Between two body chunks: a stalled stream fails after the same wait as a stalled first byte.
      bodyTimeout: options.timeouts.first_byte_ms,
      keepAliveTimeout: 30_000,
    })
  }

  async request(req: UpstreamRequest): Promise<UpstreamCall> {
    const body = new UpstreamBody(req.signal, this.options.timeouts.total_ms)
    try {
      await this.#send(body, req.method, req.path, req.body, req.headers)
    } catch (err) {
      throw this.#mapError(err, req.signal, body)
    }
    return {
      response: { statusCode: body.statusCode, headers: body.headers, body },
      mapError: (err) => this.#mapError(err, req.signal, body),
    }
  }

  // One timer per call (the body's, cleared when it closes). AbortSignal.timeout() with
  // AbortSignal.any() did the same but cost ~25 µs and GC-heavy weak references per request.
  #send(
    body: UpstreamBody,
    method: UpstreamRequest['method'],
    path: string,
    payload: string | undefined,
    callHeaders: Record<string, string> | undefined,
  ): Promise<void> {
    return body.send(this.#pool, {
      method,
      path: this.#basePath + path,
      // traceparent of the attempt span when tracing is on (a no-op check when it is off).
      // Object.assign, not spread: a spread adding keys (the call's own) takes V8's slow path on Node 20.
      headers: withTraceHeaders(callHeaders ? Object.assign({}, this.#headers, callHeaders) : this.#headers),
      body: payload,
    })
  }

  #mapError(err: unknown, clientSignal: AbortSignal, body: UpstreamBody): Error {
    if (err instanceof GatewayError || err instanceof ClientAbortError) return err
    if (clientSignal.aborted) return new ClientAbortError()
    const provider = this.options.provider
    if (body.timedOut) return upstreamTimeout(provider, 'total')
    const code = (err as { code?: string }).code
    const phase = code ? undiciTimeoutPhases[code] : undefined
    if (phase) return upstreamTimeout(provider, phase)
    return upstreamUnreachable(provider, code ?? (err as Error).message ?? 'unknown error')
  }

  /**
   * POSTs JSON and returns the call once the upstream accepted it with the expected content type.
   * A non-2xx answer is read (64 KiB at most) and handed to the provider's own error mapping.
   */
  async post(
    path: string,
    body: string,
    signal: AbortSignal,
    accept: 'application/json' | 'text/event-stream',
    toError: (refusal: UpstreamRefusal) => Error,
    callHeaders?: Record<string, string>,
  ): Promise<UpstreamCall> {
    const call = await this.request({ method: 'POST', path, body, signal, headers: callHeaders })
    const { statusCode, body: responseBody } = call.response
    if (statusCode < 200 || statusCode >= 300) throw await this.#refusal(responseBody, toError)
    this.#expectContentType(responseBody, accept)
    return call
  }

  /**
   * POSTs JSON and reads the whole answer as JSON, with post()'s checks and errors, in one async
   * step: the path every non-stream call takes. `toError` gets `context` (the caller's call
   * context), so the caller makes no closure per call; the call follows the context's signal, and
   * its deadline (limitMs) stands in for total_ms when it comes first. `keepText` attaches the text
   * to the parsed object (raw-json.ts) for adapters that hand the upstream's answer on unchanged, so
   * the route can send those bytes instead of serializing the object again.
   */
  async postJson<T, C extends { signal: AbortSignal; limitMs?: number }>(
    path: string,
    payload: string,
    toError: (refusal: UpstreamRefusal, context: C) => Error,
    context: C,
    callHeaders?: Record<string, string>,
    keepText = false,
  ): Promise<T> {
    const { signal, limitMs } = context
    const totalMs = this.options.timeouts.total_ms
    const body = new UpstreamBody(signal, limitMs !== undefined && limitMs <= totalMs ? undefined : totalMs)
    try {
      await this.#send(body, 'POST', path, payload, callHeaders)
    } catch (err) {
      throw this.#mapError(err, signal, body)
    }
    if (body.statusCode < 200 || body.statusCode >= 300)
      throw await this.#refusal(body, (refusal) => toError(refusal, context))
    this.#expectContentType(body, 'application/json')
    let text: string
    try {
      text = await body.text(maxJsonBytes)
    } catch (err) {
      throw this.#mapError(err, signal, body)
    }
    let parsed: T
    try {
      parsed = JSON.parse(text) as T
    } catch {
      throw upstreamBadResponse(this.options.provider, 'the body was not valid JSON')
    }
    return keepText && typeof parsed === 'object' && parsed !== null ? attachRawJson(parsed, text) : parsed
  }

  /** A non-2xx answer as the provider's error: its body read, 64 KiB at most. */
  async #refusal(body: UpstreamBody, toError: (refusal: UpstreamRefusal) => Error): Promise<Error> {
    const text = await readText(body, 64 * 1024).catch(() => '')
    const retryAfter = body.headers['retry-after']
    return toError({
      status: body.statusCode,
      body: text,
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    })
  }

  #expectContentType(body: UpstreamBody, accept: 'application/json' | 'text/event-stream'): void {
    const contentType = String(body.headers['content-type'] ?? '')
    if (contentType.includes(accept)) return
    body.abort()
    throw upstreamBadResponse(
      this.options.provider,
      `expected ${accept}, got "${contentType || 'no content-type'}"`,
    )
  }

  close(): Promise<void> {
    return this.#pool.close()
  }
}

/**
 * The accepted call's server-sent events through a provider's translator, a batch per body read.
 * Read failures map like the call's own; at the end the body is released: drained (the end marker
 * came: the connection goes back to the pool) or aborted (anything else).
 */
export function translateSse<T>(call: UpstreamCall, translator: SseTranslator<T>): SseBatchReader<T> {
  const body = call.response.body
  return new SseBatchReader(body, translator, {
    mapError: call.mapError,
    release: (completed) => body.release(completed),
  })
}

/** Reads a body as text, at most `limit` bytes; past it the call is aborted and the rest discarded. */
export function readText(body: UpstreamBody, limit = 1 << 20): Promise<string> {
  return body.text(limit)
}
