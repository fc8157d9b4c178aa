// The cache key: a sha256 of the request as canonical JSON (keys sorted, no whitespace), so two
// requests that differ only in field order or formatting share an answer, and any field that may
// change the answer (unknown ones included) splits it. The caller's key is never part of it; the
// namespace (the principal's id, or one shared namespace) is.
import { createHash } from 'node:crypto'

export type CachedKind = 'chat' | 'embeddings'

/** JSON with object keys sorted; undefined members dropped as JSON.stringify drops them. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += value[i] === undefined ? 'null' : canonicalJson(value[i])
    }
    return out + ']'
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const member = record[key]
    if (member === undefined) continue
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member)
    first = false
  }
  return out + '}'
}

/**
 * The body as the key sees it. `stream` is left out here and hashed on its own (a JSON answer and a
 * stream are stored apart); `stream_options.include_usage` is left out because a replay drops or
 * keeps the stored usage chunk as the client asks.
 */
function canonicalBody(body: Record<string, unknown>): string {
  const keys = Object.keys(body).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    let member = body[key]
    if (member === undefined || key === 'stream') continue
    if (key === 'stream_options' && member !== null && typeof member === 'object') {
      const { include_usage: _ignored, ...rest } = member as Record<string, unknown>
      if (Object.keys(rest).length === 0) continue
      member = rest
    }
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member)
    first = false
  }
  return out + '}'
}

/** `principalId` null: the namespace every caller shares (cache.shared: true). */
export function cacheKeyFor(
  kind: CachedKind,
  principalId: string | null,
  body: Record<string, unknown>,
): string {
  return createHash('sha256')
    .update(kind)
    .update(principalId === null ? '\nshared\n' : '\nprincipal:')
    .update(principalId ?? '')
    .update(body.stream === true ? '\nstream\n' : '\njson\n')
    .update(canonicalBody(body))
    .digest('base64url')
}
