// OpenAI-compatible error bodies -> gateway errors. Client mistakes (4xx) keep their status so the
// SDK raises the same error class it would against the provider; provider failures become 502/503/504.
// Error codes: https://platform.openai.com/docs/guides/error-codes
import { GatewayError } from '../../plugins/gateway-error.js'

interface UpstreamErrorBody {
  message?: unknown
  type?: unknown
  code?: unknown
  param?: unknown
}

const asString = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null

export function gatewayStatusFor(upstreamStatus: number): number {
  if (upstreamStatus < 500) return upstreamStatus
  if (upstreamStatus === 503 || upstreamStatus === 529) return 503
  if (upstreamStatus === 504) return 504
  return 502
}

const typeForStatus = (status: number): string =>
  status === 401
    ? 'authentication_error'
    : status === 403
      ? 'permission_error'
      : status === 429
        ? 'rate_limit_error'
        : status >= 500
          ? 'upstream_error'
          : 'invalid_request_error'

/** Removes secrets an upstream might echo back (some servers repeat the key they rejected). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 8) out = out.replaceAll(secret, '[redacted]')
  return out
}

export function parseErrorBody(text: string): UpstreamErrorBody | null {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown }
    if (parsed && typeof parsed.error === 'object' && parsed.error !== null)
      return parsed.error as UpstreamErrorBody
    if (parsed && typeof parsed.error === 'string') return { message: parsed.error }
    if (parsed && typeof parsed.message === 'string') return parsed as UpstreamErrorBody
    return null
  } catch {
    return null
  }
}

export interface UpstreamErrorInput {
  status: number
  body: string
  provider: string
  model: string
  retryAfter?: string
  secrets: readonly string[]
}

export function fromOpenAIError(input: UpstreamErrorInput): GatewayError {
  const parsed = parseErrorBody(input.body)
  const upstreamMessage = asString(parsed?.message) ?? (input.body.trim().slice(0, 300) || 'no error message')
  const status = gatewayStatusFor(input.status)
  let code = asString(parsed?.code)
  if (status === 413 || /context (length|window)|maximum context/i.test(upstreamMessage)) {
    code = 'context_length_exceeded'
  }
  const headers: Record<string, string> = {}
  if (input.retryAfter && (status === 429 || status === 503)) headers['retry-after'] = input.retryAfter
  const message = scrub(
    `${input.provider} (model ${input.model}) returned ${input.status}: ${upstreamMessage}`,
    input.secrets,
  )
  const type = status >= 500 ? 'upstream_error' : (asString(parsed?.type) ?? typeForStatus(status))
  return new GatewayError(status, message, type, code, asString(parsed?.param), headers)
}
