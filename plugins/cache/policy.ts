// Which requests the cache serves and stores, decided from the config (once) and the request's own
// control headers. Pure: no I/O, no Fastify.
import type { IncomingHttpHeaders } from 'node:http'
import { invalidRequest } from '../gateway-error.js'
import type { CacheSettings, ModelCacheSettings } from './config-schema.js'

export interface ModelCachePolicy {
  enabled: boolean
  ttlMs: number
}

/** Per public model name, resolved once; names without their own settings get the global policy. */
export class CachePolicies {
  readonly #byModel = new Map<string, ModelCachePolicy>()
  readonly #default: ModelCachePolicy
  /** False when no model can be cached: the plugin then adds no hooks at all. */
  readonly anyEnabled: boolean

  constructor(settings: CacheSettings, models: readonly { name: string; cache?: ModelCacheSettings }[]) {
    this.#default = { enabled: settings.enabled, ttlMs: settings.ttl_seconds * 1000 }
    let anyEnabled = settings.enabled
    for (const model of models) {
      if (!model.cache) continue
      const policy = {
        enabled: model.cache.enabled ?? settings.enabled,
        ttlMs: (model.cache.ttl_seconds ?? settings.ttl_seconds) * 1000,
      }
      anyEnabled ||= policy.enabled
      this.#byModel.set(model.name, policy)
    }
    this.anyEnabled = anyEnabled
  }

  /** `model` as the client named it: a public model, or `<provider>/<model>` (the global policy). */
  for(model: string): ModelCachePolicy {
    return this.#byModel.get(model) ?? this.#default
  }
}

/**
 * Sampling makes an answer one draw among many; replaying it is only right when the caller asked
 * for temperature 0 or the operator accepts replayed draws. An unset temperature is OpenAI's
 * default, 1.
 */
export function isCacheableSampling(
  body: { temperature?: unknown },
  cacheNonzeroTemperature: boolean,
): boolean {
  return cacheNonzeroTemperature || body.temperature === 0
}

export interface CacheControl {
  /** false: `cache-control: no-cache`, go to the upstream even when an answer is stored. */
  read: boolean
  /** false: `cache-control: no-store` or `x-anygate-cache-ttl: 0`, don't keep this answer. */
  write: boolean
  /** From x-anygate-cache-ttl, capped at cache.max_ttl_seconds; undefined: the model's ttl. */
  ttlMs: number | undefined
}

const everything: CacheControl = Object.freeze({ read: true, write: true, ttlMs: undefined })
const wholeSeconds = /^\d{1,10}$/

/** Reads `cache-control` (no-cache, no-store) and `x-anygate-cache-ttl`; a bad ttl is a 400. */
export function readCacheControl(headers: IncomingHttpHeaders, maxTtlSeconds: number): CacheControl {
  const cacheControl = headers['cache-control']
  const ttlHeader = headers['x-anygate-cache-ttl']
  if (cacheControl === undefined && ttlHeader === undefined) return everything
  let read = true
  let write = true
  if (cacheControl !== undefined) {
    for (const directive of cacheControl.toLowerCase().split(',')) {
      const name = directive.trim()
      if (name === 'no-cache') read = false
      else if (name === 'no-store') write = false
    }
  }
  let ttlMs: number | undefined
  if (ttlHeader !== undefined) {
    const text = Array.isArray(ttlHeader) ? ttlHeader.join(',') : ttlHeader.trim()
    if (!wholeSeconds.test(text)) {
      throw invalidRequest(
        `The x-anygate-cache-ttl header must be a whole number of seconds (0 to ${maxTtlSeconds}; 0 stores nothing), got "${text.slice(0, 40)}".`,
        null,
        'invalid_cache_ttl',
      )
    }
    const seconds = Math.min(Number(text), maxTtlSeconds)
    if (seconds === 0) write = false
    else ttlMs = seconds * 1000
  }
  return { read, write, ttlMs }
}
