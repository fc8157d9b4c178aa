// `cache:` and `models[].cache:`, the response cache's config. Referenced from config/schema.ts.
import { type Static, Type } from '@sinclair/typebox'

const MiB = 1024 * 1024

export const CacheSettings = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'caches answers of every model; models[].cache.enabled overrides it per model',
    }),
    backend: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description:
        'memory: per process, an LRU bounded by max_bytes; redis: shared by replicas through store.url (needs store.type: redis)',
    }),
    ttl_seconds: Type.Integer({
      minimum: 1,
      default: 3600,
      description: 'how long an answer is served from the cache; models[].cache.ttl_seconds overrides it',
    }),
    max_ttl_seconds: Type.Integer({
      minimum: 1,
      default: 86_400,
      description:
        'the most a request may ask for with the x-anygate-cache-ttl header (larger values are capped)',
    }),
    max_bytes: Type.Integer({
      minimum: 1024,
      default: 64 * MiB,
      description: 'memory backend: the least recently used answers are evicted beyond this size',
    }),
    max_entry_bytes: Type.Integer({
      minimum: 1,
      default: 1 * MiB,
      description: 'answers larger than this are not cached (either backend)',
    }),
    shared: Type.Boolean({
      default: false,
      description:
        'false: each API key has its own cache; true: every caller shares one (same request, same answer)',
    }),
    cache_nonzero_temperature: Type.Boolean({
      default: false,
      description:
        'false: only chat requests with temperature 0 are cached (an unset temperature is 1, sampled); true: all',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type CacheSettings = Static<typeof CacheSettings>

/** `models[].cache`: what differs from `cache:` for one public model. */
export const ModelCacheSettings = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({ description: 'caches this model even when cache.enabled is false, or never' }),
    ),
    ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'overrides cache.ttl_seconds' })),
  },
  { additionalProperties: false },
)
export type ModelCacheSettings = Static<typeof ModelCacheSettings>
