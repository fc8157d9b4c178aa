// Turning a request or an answer into what the usage log holds (pure): redacted first, then cut to
// max_body_bytes. A body that fits stays a JSON value; one that doesn't becomes the start of its
// JSON text, with *_truncated: true beside it, so a reader can tell a replayable request from a cut one.
import type { InferenceKind } from '../call-record.js'
import type { Redactor } from './redact.js'

export interface LoggedBody {
  value: unknown
  truncated: boolean
}

/** The longest prefix of `text` within `maxBytes` of UTF-8, never splitting a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text)
  if (bytes.length <= maxBytes) return text
  let end = maxBytes
  // The first byte left out is a continuation byte (10xxxxxx): back up to where its character starts.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

export function toLoggedBody(
  value: unknown,
  redactor: Redactor,
  maxBytes: number,
  alreadyTruncated = false,
): LoggedBody {
  const redacted = redactor.value(value)
  const text = JSON.stringify(redacted) ?? 'null'
  if (Buffer.byteLength(text) <= maxBytes) return { value: redacted, truncated: alreadyTruncated }
  return { value: utf8Prefix(text, maxBytes), truncated: true }
}

/** An answer as sent: its JSON value, or the text itself when it isn't JSON. */
export function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Vectors say nothing a reader of the log needs and are large: each becomes its dimension count. */
export function withoutVectors(answer: unknown): unknown {
  const data = (answer as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) return answer
  return {
    ...(answer as object),
    data: data.map((item) => {
      const embedding = (item as { embedding?: unknown } | null)?.embedding
      if (Array.isArray(embedding)) return { ...item, embedding: `[${embedding.length} floats]` }
      if (typeof embedding === 'string') return { ...item, embedding: `[base64, ${embedding.length} chars]` }
      return item
    }),
  }
}

/** The answer body of a JSON reply, ready to be logged. */
export function answerBody(kind: InferenceKind, status: number, text: string): unknown {
  const answer = parseAnswer(text)
  return kind === 'embeddings' && status < 400 ? withoutVectors(answer) : answer
}

/** The error code of an error body in the OpenAI shape (also the Anthropic-compatible one). */
export function errorCodeOf(text: string): string | null {
  const parsed = parseAnswer(text) as { error?: { code?: unknown; type?: unknown } } | null
  const error = parsed && typeof parsed === 'object' ? parsed.error : undefined
  if (!error || typeof error !== 'object') return null
  if (typeof error.code === 'string') return error.code
  return typeof error.type === 'string' ? error.type : null
}
