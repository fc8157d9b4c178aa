// What the cache keeps per answer, and the one interface its two backends (memory, Redis) implement.
import type { TokenUsage } from '../call-record.js'

export interface CachedAnswer {
  kind: 'json' | 'stream'
  /** The model as the client named it: DELETE /admin/cache?model= matches on it. */
  model: string
  provider: string
  upstreamModel: string
  usage: TokenUsage | null
  /** json: the answer's JSON text exactly as it was sent; stream: ''. */
  body: string
  /** stream: each chunk's JSON text, the usage-only chunk included; json: []. */
  chunks: string[]
  /** Approximate size (characters of JSON text plus a fixed overhead); bounds memory and entries. */
  bytes: number
}

export interface ResponseCacheStore {
  get(key: string): Promise<CachedAnswer | undefined>
  /** Never rejects: a backend failure is logged and the answer simply isn't kept. */
  set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void>
  /** Deletes every answer, or those of one model; resolves to how many were deleted. */
  clear(model?: string): Promise<number>
  /** Bytes held by this process (memory backend); null when Redis holds them. */
  bytes(): number | null
}

const entryOverhead = 256
const chunkOverhead = 16

export function newCachedAnswer(fields: Omit<CachedAnswer, 'bytes'>): CachedAnswer {
  let bytes = entryOverhead + fields.model.length + fields.upstreamModel.length + fields.body.length
  for (const chunk of fields.chunks) bytes += chunk.length + chunkOverhead
  return { ...fields, bytes }
}

const isString = (value: unknown): value is string => typeof value === 'string'

/** Parses what the Redis backend stored; undefined for anything that isn't a cached answer. */
export function parseCachedAnswer(text: string): CachedAnswer | undefined {
  let value: Partial<CachedAnswer>
  try {
    value = JSON.parse(text) as Partial<CachedAnswer>
  } catch {
    return undefined
  }
  const valid =
    (value.kind === 'json' || value.kind === 'stream') &&
    isString(value.model) &&
    isString(value.provider) &&
    isString(value.upstreamModel) &&
    isString(value.body) &&
    Array.isArray(value.chunks) &&
    value.chunks.every(isString) &&
    typeof value.bytes === 'number'
  return valid ? (value as CachedAnswer) : undefined
}
