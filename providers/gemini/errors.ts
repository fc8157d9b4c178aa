// Gemini error bodies {error:{code,message,status,details}} -> gateway errors. Client mistakes keep
// their status so OpenAI SDKs raise the class they would for OpenAI; Google's failures become
// 502/503/504. Status values: https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
import type { GatewayError } from '../../plugins/gateway-error.js'
import { gatewayStatusFor, upstreamFailure } from '../openai/errors.js'

const errorCodesDoc = 'https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes'

interface ErrorRow {
  /** The HTTP status Google pairs with the status name; a stream error carries its code too. */
  status: number
  type: string
  code: string | null
  doc: string
}

export const geminiErrorStatuses: Readonly<Record<string, ErrorRow>> = {
  // Malformed request, or a parameter the model does not take.
  INVALID_ARGUMENT: { status: 400, type: 'invalid_request_error', code: null, doc: errorCodesDoc },
  // E.g. the free tier is not available in the caller's country: the request cannot run as is.
  FAILED_PRECONDITION: {
    status: 400,
    type: 'invalid_request_error',
    code: 'failed_precondition',
    doc: errorCodesDoc,
  },
  UNAUTHENTICATED: { status: 401, type: 'authentication_error', code: 'invalid_api_key', doc: errorCodesDoc },
  // The key lacks access (a tuned model it does not own, an API not enabled).
  PERMISSION_DENIED: { status: 403, type: 'permission_error', code: null, doc: errorCodesDoc },
  // Every call here is on a model resource: its 404 means the model id is unknown to Google.
  NOT_FOUND: { status: 404, type: 'invalid_request_error', code: 'model_not_found', doc: errorCodesDoc },
  RESOURCE_EXHAUSTED: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    doc: errorCodesDoc,
  },
  // Google's own failure: the gateway's 502 (bad upstream).
  INTERNAL: { status: 500, type: 'upstream_error', code: 'upstream_error', doc: errorCodesDoc },
  UNAVAILABLE: { status: 503, type: 'upstream_error', code: 'provider_overloaded', doc: errorCodesDoc },
  DEADLINE_EXCEEDED: { status: 504, type: 'timeout_error', code: 'upstream_timeout', doc: errorCodesDoc },
}

interface GeminiErrorBody {
  code?: unknown
  message?: unknown
  status?: unknown
  details?: unknown
}

const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null)

function parseGeminiError(text: string): GeminiErrorBody | null {
  try {
    // Some front ends answer with a one-element array around the body.
    const parsed = JSON.parse(text) as unknown
    const body = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: unknown } | null
    return body && typeof body.error === 'object' && body.error !== null
      ? (body.error as GeminiErrorBody)
      : null
  } catch {
    return null
  }
}

const detailsOf = (error: GeminiErrorBody | null): Record<string, unknown>[] =>
  Array.isArray(error?.details) ? (error.details as Record<string, unknown>[]) : []

/**
 * A rejected key is a 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID; it is the same
 * failure as UNAUTHENTICATED, so it is reported as 401 like OpenAI's.
 */
const isInvalidKey = (error: GeminiErrorBody | null) =>
  detailsOf(error).some((detail) => detail.reason === 'API_KEY_INVALID')

/** RetryInfo.retryDelay ("27s", "1.5s") -> whole seconds for retry-after, when Google sent no header. */
function retryDelaySeconds(error: GeminiErrorBody | null): string | undefined {
  for (const detail of detailsOf(error)) {
    const delay = asString(detail.retryDelay)
    const seconds = delay ? /^(\d+(?:\.\d+)?)s$/.exec(delay)?.[1] : undefined
    if (seconds) return String(Math.ceil(Number(seconds)))
  }
  return undefined
}

/** "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)." */
const tooLong =
  /input token count.*exceeds|exceeds the maximum number of tokens|context (length|window)|too long/i

export interface GeminiErrorInput {
  status: number
  body: string
  provider: string
  model: string
  retryAfter?: string
  secrets: readonly string[]
  /** Set for an error event inside a 200 stream, so the message says so. */
  midStream?: boolean
}

export function fromGeminiError(input: GeminiErrorInput): GatewayError {
  const error = parseGeminiError(input.body)
  const statusName = asString(error?.status)
  const upstreamMessage = asString(error?.message) ?? (input.body.trim().slice(0, 300) || 'no error message')
  const invalidKey = isInvalidKey(error)
  const row = invalidKey
    ? geminiErrorStatuses.UNAUTHENTICATED
    : ((statusName ? geminiErrorStatuses[statusName] : undefined) ??
      Object.values(geminiErrorStatuses).find((r) => r.status === input.status))
  const upstreamStatus = invalidKey ? 401 : input.status
  const status = gatewayStatusFor(upstreamStatus)
  let code = row?.code ?? null
  let param: string | null = row?.code === 'model_not_found' ? 'model' : null
  if (status === 400 && tooLong.test(upstreamMessage)) {
    code = 'context_length_exceeded'
    param = 'messages'
  }
  const what = input.midStream
    ? `sent an error mid-stream (${statusName ?? input.status})`
    : `returned ${input.status}${statusName ? ` ${statusName}` : ''}`
  return upstreamFailure({
    ...input,
    status,
    what,
    upstreamMessage,
    upstreamType: row?.type ?? 'invalid_request_error',
    code,
    param,
    retryAfter: input.retryAfter ?? retryDelaySeconds(error),
  })
}
