// Anthropic error bodies and stream error events -> gateway errors. Client mistakes keep their status
// so OpenAI SDKs raise the class they would for OpenAI; provider failures become 502/503/504.
// Error types and statuses: https://platform.claude.com/docs/en/api/errors
import type { GatewayError } from '../../plugins/gateway-error.js'
import { gatewayStatusFor, parseErrorBody, upstreamFailure } from '../openai/errors.js'

const errorsDoc = 'https://platform.claude.com/docs/en/api/errors#http-errors'

interface ErrorRow {
  /** The HTTP status Anthropic pairs with the type; a stream error event carries only the type. */
  status: number
  /** The OpenAI-style type the client sees. */
  type: string
  code: string | null
  doc: string
}

export const anthropicErrorTypes: Readonly<Record<string, ErrorRow>> = {
  invalid_request_error: { status: 400, type: 'invalid_request_error', code: null, doc: errorsDoc },
  authentication_error: {
    status: 401,
    type: 'authentication_error',
    code: 'invalid_api_key',
    doc: errorsDoc,
  },
  billing_error: { status: 402, type: 'invalid_request_error', code: 'billing_error', doc: errorsDoc },
  permission_error: { status: 403, type: 'permission_error', code: null, doc: errorsDoc },
  not_found_error: { status: 404, type: 'not_found_error', code: null, doc: errorsDoc },
  request_too_large: {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    doc: errorsDoc,
  },
  rate_limit_error: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', doc: errorsDoc },
  // Anthropic's own failures: 500 becomes the gateway's 502 (bad upstream), 529 its 503 (retry later).
  api_error: { status: 500, type: 'upstream_error', code: 'upstream_error', doc: errorsDoc },
  timeout_error: { status: 504, type: 'timeout_error', code: 'upstream_timeout', doc: errorsDoc },
  overloaded_error: { status: 529, type: 'upstream_error', code: 'provider_overloaded', doc: errorsDoc },
}

const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null)

function rowForStatus(status: number): ErrorRow | undefined {
  return Object.values(anthropicErrorTypes).find((row) => row.status === status)
}

export interface AnthropicErrorInput {
  /** The upstream HTTP status; for a stream error event, the status its type stands for. */
  status: number
  body: string
  provider: string
  model: string
  retryAfter?: string
  secrets: readonly string[]
  /** Set for an `error` event inside a 200 stream, so the message says so. */
  midStream?: boolean
}

export function fromAnthropicError(input: AnthropicErrorInput): GatewayError {
  const parsed = parseErrorBody(input.body)
  const upstreamType = asString(parsed?.type)
  const upstreamMessage = asString(parsed?.message) ?? (input.body.trim().slice(0, 300) || 'no error message')
  const row = (upstreamType ? anthropicErrorTypes[upstreamType] : undefined) ?? rowForStatus(input.status)
  const status = gatewayStatusFor(input.status)
  let code = row?.code ?? null
  let param: string | null = null
  // "prompt is too long: 208656 tokens > 200000 maximum" is a 400 invalid_request_error.
  if (/prompt is too long/i.test(upstreamMessage)) code = 'context_length_exceeded'
  // An unknown model reads "model: <id>" (not_found_error); other 404s stay plain.
  if (input.status === 404 && /^model:/i.test(upstreamMessage)) {
    code = 'model_not_found'
    param = 'model'
  }
  const what = input.midStream
    ? `sent an error mid-stream (${upstreamType ?? 'unknown type'})`
    : `returned ${input.status}`
  return upstreamFailure({
    ...input,
    status,
    what,
    upstreamMessage,
    upstreamType: row?.type ?? 'invalid_request_error',
    code,
    param,
  })
}

/** A stream `error` event: the status its type stands for, mapped like the same HTTP error. */
export function fromAnthropicStreamError(
  data: string,
  source: Omit<AnthropicErrorInput, 'status' | 'body' | 'midStream'>,
): GatewayError {
  const type = asString(parseErrorBody(data)?.type)
  const status = (type ? anthropicErrorTypes[type]?.status : undefined) ?? 500
  return fromAnthropicError({ ...source, status, body: data, midStream: true })
}
