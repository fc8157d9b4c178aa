// How a test or a demo steers the mock: by the model name (`error-429`) or by x-mock-* request
// headers, falling back to the provider's `options` in the config.
import type { CallContext } from '../contract.js'

export interface MockOptions {
  response?: string
  latency_ms?: number
  chunk_delay_ms?: number
  dimensions?: number
}

export interface MockControls {
  errorStatus: number | null
  latencyMs: number
  chunkDelayMs: number
  /** Fail the stream after this many chunks, as an upstream that dies mid-answer. */
  failAfterChunks: number | null
  response: string | undefined
}

function header(ctx: CallContext, name: string): string | undefined {
  const value = ctx.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function intHeader(ctx: CallContext, name: string): number | null {
  const value = header(ctx, name)
  if (value === undefined) return null
  const parsed = Number.parseInt(value, 10)
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : null
}

export function readMockControls(ctx: CallContext, options: MockOptions): MockControls {
  const fromModel = /^error-(\d{3})$/.exec(ctx.model)
  const errorStatus = fromModel ? Number(fromModel[1]) : intHeader(ctx, 'x-mock-error')
  return {
    errorStatus: errorStatus !== null && errorStatus >= 400 && errorStatus <= 599 ? errorStatus : null,
    latencyMs: intHeader(ctx, 'x-mock-latency-ms') ?? options.latency_ms ?? 0,
    chunkDelayMs: intHeader(ctx, 'x-mock-chunk-delay-ms') ?? options.chunk_delay_ms ?? 0,
    failAfterChunks: intHeader(ctx, 'x-mock-fail-after'),
    response: header(ctx, 'x-mock-response') ?? options.response,
  }
}
