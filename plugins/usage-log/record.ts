// One usage-log record (pure): the stable, documented line a spend report or a replay tool reads.
// Every field is always present (null when unknown) so the lines have one shape; request/response
// are there only with logging.bodies on. Never a secret, never a header.
import type { CacheStatus, GatewayContext, InferenceKind } from '../call-record.js'
import type { Principal } from '../principal.js'
import type { LoggedBody } from './bodies.js'

export interface UsageRecord {
  /** Always "usage": tells these lines apart from the access log's when both go to stdout. */
  log: 'usage'
  /** When the response ended (ISO 8601, UTC). */
  ts: string
  request_id: string
  key_id: string | null
  key_name: string | null
  route: string | null
  kind: InferenceKind | null
  /** The public model as the client named it (or as a fallback resolved it). */
  model: string | null
  provider: string | null
  upstream_model: string | null
  attempts: number | null
  fallback_from: string | null
  stream: boolean
  cache: CacheStatus | null
  status: number
  /** The `error.code` (else `error.type`) of an error answer. */
  error_code: string | null
  prompt_tokens: number | null
  completion_tokens: number | null
  cached_prompt_tokens: number | null
  cost_usd: number | null
  latency_ms: number
  ttft_ms: number | null
  /** A stream that ended early: the code of its error event, or client_abort. */
  stream_error: string | null
  request?: unknown
  request_truncated?: boolean
  response?: unknown
  response_truncated?: boolean
}

/** What routed errors report in their x-anygate-* headers, for calls that never got a gateway record. */
export interface RoutingHeaders {
  provider?: string
  upstreamModel?: string
  attempts?: number
  fallbackFrom?: string
  cache?: CacheStatus
}

export interface UsageInputs {
  now: number
  requestId: string
  route: string | null
  kind: InferenceKind | null
  status: number
  elapsedMs: number
  principal: Pick<Principal, 'id' | 'name'> | null
  gateway: GatewayContext | null
  /** The parsed request body, for the model and stream flags of calls that failed before routing. */
  body: unknown
  routing: RoutingHeaders
  /** The client hung up before the response was complete. */
  aborted: boolean
  errorCode: string | null
  request?: LoggedBody
  response?: LoggedBody
}

const ms = (value: number) => Math.round(value * 100) / 100

/** Status 499 (nginx's "client closed request") for a call the client left before any answer. */
function statusOf(inputs: UsageInputs): number {
  if (inputs.aborted && !inputs.gateway?.stream) return 499
  return inputs.status
}

export function toUsageRecord(inputs: UsageInputs): UsageRecord {
  const { gateway, routing } = inputs
  const body = (inputs.body ?? {}) as { model?: unknown; stream?: unknown }
  const usage = gateway?.usage
  const streamError = gateway?.streamError ?? (inputs.aborted && gateway?.stream ? 'client_abort' : undefined)
  const record: UsageRecord = {
    log: 'usage',
    ts: new Date(inputs.now).toISOString(),
    request_id: inputs.requestId,
    key_id: inputs.principal?.id ?? null,
    key_name: inputs.principal?.name ?? null,
    route: inputs.route,
    kind: inputs.kind,
    model: gateway?.model ?? (typeof body.model === 'string' ? body.model : null),
    provider: gateway?.provider ?? routing.provider ?? null,
    upstream_model: gateway?.upstreamModel ?? routing.upstreamModel ?? null,
    attempts: gateway?.attempts ?? routing.attempts ?? null,
    fallback_from: gateway?.fallbackFrom ?? routing.fallbackFrom ?? null,
    stream: gateway?.stream ?? body.stream === true,
    cache: gateway?.cache ?? routing.cache ?? null,
    status: statusOf(inputs),
    error_code: inputs.errorCode,
    prompt_tokens: usage?.prompt ?? null,
    completion_tokens: usage?.completion ?? null,
    cached_prompt_tokens: usage?.cachedPrompt ?? null,
    cost_usd: gateway?.costUsd ?? null,
    latency_ms: ms(inputs.elapsedMs),
    ttft_ms: gateway?.firstByteMs === undefined ? null : ms(gateway.firstByteMs),
    stream_error: streamError ?? null,
  }
  if (inputs.request) {
    record.request = inputs.request.value
    record.request_truncated = inputs.request.truncated
  }
  if (inputs.response) {
    record.response = inputs.response.value
    record.response_truncated = inputs.response.truncated
  }
  return record
}

/** Reads the routing headers an error answer carries (plugins/router/router.ts withRoutingHeaders). */
export function routingFromHeaders(header: (name: string) => unknown): RoutingHeaders {
  const text = (name: string) => {
    const value = header(name)
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const attempts = Number(text('x-anygate-attempts'))
  const cache = text('x-anygate-cache')
  return {
    provider: text('x-anygate-provider'),
    upstreamModel: text('x-anygate-model'),
    attempts: Number.isInteger(attempts) ? attempts : undefined,
    // "from -> to", set when a fallback model served or failed the call.
    fallbackFrom: text('x-anygate-fallback')?.split(' -> ')[0],
    cache: cache === 'HIT' || cache === 'MISS' || cache === 'BYPASS' ? cache : undefined,
  }
}
