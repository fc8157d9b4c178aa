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

/** A piece of a secret this long identifies it: "sk-proj-abcd1234…" is still a leak. */
const secretPieceLength = 12

/** Where `text` holds a piece of `secret` at least secretPieceLength long: a mark per character. */
function markSecretPieces(text: string, secret: string, marks: Uint8Array): void {
  const pieces = new Set<string>()
  for (let i = 0; i + secretPieceLength <= secret.length; i++) {
    pieces.add(secret.slice(i, i + secretPieceLength))
  }
  // Most messages hold no piece at all: a native search per piece says so before the slow scan.
  if (![...pieces].some((piece) => text.includes(piece))) return
  for (let i = 0; i + secretPieceLength <= text.length; i++) {
    if (pieces.has(text.slice(i, i + secretPieceLength))) marks.fill(1, i, i + secretPieceLength)
  }
}

/**
 * Removes secrets an upstream might echo back: some servers repeat the key they rejected, whole or
 * cut short ("Incorrect API key provided: sk-proj-abcd1234****"). Secrets of 8 to 11 characters
 * are replaced where they appear whole; longer ones also where any 12 characters of them appear.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 8 && secret.length < secretPieceLength) out = out.replaceAll(secret, '[redacted]')
  }
  const marks = new Uint8Array(out.length)
  for (const secret of secrets) if (secret.length >= secretPieceLength) markSecretPieces(out, secret, marks)
  if (!marks.includes(1)) return out
  let result = ''
  for (let i = 0; i < out.length; i++) {
    if (marks[i] === 0) result += out[i]
    else if (i === 0 || marks[i - 1] === 0) result += '[redacted]'
  }
  return result
}

const scrubOrNull = (text: string | null, secrets: readonly string[]) =>
  text === null ? null : scrub(text, secrets)

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

/** What every provider's error mapping has decided; the rendering below is shared. */
export interface UpstreamFailure {
  /** The gateway's status (already through gatewayStatusFor). */
  status: number
  provider: string
  model: string
  /** e.g. "returned 429", "sent an error mid-stream (overloaded_error)". */
  what: string
  upstreamMessage: string
  /** The provider's own type name for the failure, if it has one. */
  upstreamType: string | null
  code: string | null
  param: string | null
  retryAfter?: string
  secrets: readonly string[]
}

/** One message format, one Retry-After rule and one type rule for every provider's failures. */
export function upstreamFailure(f: UpstreamFailure): GatewayError {
  const headers: Record<string, string> = {}
  if (f.retryAfter && (f.status === 429 || f.status === 503)) headers['retry-after'] = f.retryAfter
  const message = scrub(`${f.provider} (model ${f.model}) ${f.what}: ${f.upstreamMessage}`, f.secrets)
  const type =
    f.status >= 500
      ? f.upstreamType === 'timeout_error'
        ? 'timeout_error'
        : 'upstream_error'
      : (scrubOrNull(f.upstreamType, f.secrets) ?? typeForStatus(f.status))
  // type, code and param come from the upstream's body too: an echoed key could sit in any of them.
  const code = scrubOrNull(f.code, f.secrets)
  return new GatewayError(f.status, message, type, code, scrubOrNull(f.param, f.secrets), headers)
}

export function fromOpenAIError(input: UpstreamErrorInput): GatewayError {
  const parsed = parseErrorBody(input.body)
  const upstreamMessage = asString(parsed?.message) ?? (input.body.trim().slice(0, 300) || 'no error message')
  const status = gatewayStatusFor(input.status)
  let code = asString(parsed?.code)
  if (status === 413 || /context (length|window)|maximum context/i.test(upstreamMessage)) {
    code = 'context_length_exceeded'
  }
  return upstreamFailure({
    ...input,
    status,
    what: `returned ${input.status}`,
    upstreamMessage,
    // OpenAI's own types are kept for client errors; a 5xx is the upstream's failure, whatever it says.
    upstreamType: status >= 500 ? null : asString(parsed?.type),
    code,
    param: asString(parsed?.param),
  })
}
