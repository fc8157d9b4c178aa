// The pure parts of the response cache: the key's normalization, the per-model policy and the
// request's control headers.
import { describe, expect, it } from 'vitest'
import { cacheKeyFor, canonicalJson } from '../plugins/cache/cache-key.js'
import type { CacheSettings } from '../plugins/cache/config-schema.js'
import { CachePolicies, isCacheableSampling, readCacheControl } from '../plugins/cache/policy.js'
import { GatewayError } from '../plugins/gateway-error.js'
import { configProblems, testConfig } from './helpers/app.js'

const body = {
  model: 'fast',
  temperature: 0,
  messages: [{ role: 'user', content: 'hi' }],
  tools: [{ type: 'function', function: { name: 'add', parameters: { type: 'object', required: ['a'] } } }],
}

describe('cache keys', () => {
  it('serializes objects with sorted keys and arrays in order', () => {
    expect(canonicalJson({ b: [3, { y: 1, x: null }], a: 'é"', c: undefined })).toBe(
      '{"a":"é\\"","b":[3,{"x":null,"y":1}]}',
    )
  })

  it('ignores field order and formatting', () => {
    const reordered = JSON.parse(
      `{"tools":[{"function":{"parameters":{"required":["a"],"type":"object"},"name":"add"},"type":"function"}],
        "messages": [ { "content": "hi", "role": "user" } ], "temperature": 0, "model": "fast"}`,
    )
    expect(cacheKeyFor('chat', 'key_a', reordered)).toBe(cacheKeyFor('chat', 'key_a', body))
  })

  it('changes with every field that may change the answer', () => {
    const base = cacheKeyFor('chat', 'key_a', body)
    const variants: Record<string, unknown>[] = [
      { ...body, temperature: 0.2 },
      { ...body, model: 'up/gpt-test' },
      { ...body, messages: [{ role: 'user', content: 'hi ' }] },
      { ...body, tools: [] },
      { ...body, tool_choice: 'required' },
      { ...body, response_format: { type: 'json_object' } },
      { ...body, seed: 1 },
      { ...body, n: 2 },
      { ...body, stop: ['\n'] },
      { ...body, logit_bias: { '50256': -100 } },
      { ...body, vendor_extension: { depth: 2 } },
      { ...body, stream: true },
      { ...body, stream: true, stream_options: { include_obfuscation: false } },
    ]
    const keys = new Set([base, ...variants.map((v) => cacheKeyFor('chat', 'key_a', v))])
    expect(keys.size).toBe(variants.length + 1)
  })

  it('does not split on include_usage or an explicit stream: false', () => {
    const streamed = { ...body, stream: true }
    expect(cacheKeyFor('chat', 'k', { ...streamed, stream_options: { include_usage: true } })).toBe(
      cacheKeyFor('chat', 'k', streamed),
    )
    expect(cacheKeyFor('chat', 'k', { ...body, stream: false })).toBe(cacheKeyFor('chat', 'k', body))
  })

  it('is namespaced by caller and by endpoint, with one namespace when shared', () => {
    const keys = [
      cacheKeyFor('chat', 'key_a', body),
      cacheKeyFor('chat', 'key_b', body),
      cacheKeyFor('chat', null, body),
      cacheKeyFor('embeddings', 'key_a', body),
    ]
    expect(new Set(keys).size).toBe(4)
    expect(cacheKeyFor('chat', null, body)).toBe(keys[2])
  })
})

const settings = (overrides: Partial<CacheSettings> = {}): CacheSettings =>
  testConfig({ cache: overrides }).cache

describe('cache policy', () => {
  it('applies the global switch and ttl, overridden per public model', () => {
    const policies = new CachePolicies(settings({ enabled: true, ttl_seconds: 60 }), [
      { name: 'off', cache: { enabled: false } },
      { name: 'short', cache: { ttl_seconds: 5 } },
      { name: 'plain' },
    ])
    expect(policies.anyEnabled).toBe(true)
    expect(policies.for('plain')).toEqual({ enabled: true, ttlMs: 60_000 })
    expect(policies.for('off')).toEqual({ enabled: false, ttlMs: 60_000 })
    expect(policies.for('short')).toEqual({ enabled: true, ttlMs: 5000 })
    expect(policies.for('openai/gpt-4o')).toEqual({ enabled: true, ttlMs: 60_000 })
  })

  it('is off everywhere by default, and on for a model that asks', () => {
    expect(new CachePolicies(settings(), [{ name: 'm' }]).anyEnabled).toBe(false)
    const one = new CachePolicies(settings(), [{ name: 'm', cache: { enabled: true } }])
    expect(one.anyEnabled).toBe(true)
    expect(one.for('m').enabled).toBe(true)
    expect(one.for('other').enabled).toBe(false)
  })

  it('caches only temperature 0 unless sampled answers are allowed', () => {
    expect(isCacheableSampling({ temperature: 0 }, false)).toBe(true)
    expect(isCacheableSampling({ temperature: 0.1 }, false)).toBe(false)
    expect(isCacheableSampling({}, false)).toBe(false)
    expect(isCacheableSampling({}, true)).toBe(true)
  })

  it('has documented defaults and refuses unknown keys', () => {
    expect(settings()).toEqual({
      enabled: false,
      backend: 'memory',
      ttl_seconds: 3600,
      max_ttl_seconds: 86_400,
      max_bytes: 64 * 1024 * 1024,
      max_entry_bytes: 1024 * 1024,
      shared: false,
      cache_nonzero_temperature: false,
    })
    expect(configProblems({ cache: { enabled: true, ttl: 5 } })).toEqual([expect.stringMatching(/^cache/)])
    expect(
      configProblems({
        providers: { mock: { type: 'mock' } },
        models: [{ name: 'm', targets: [{ provider: 'mock', model: 'echo' }], cache: { ttl_seconds: 0 } }],
      }),
    ).toEqual([expect.stringMatching(/^models\[0\]\.cache\.ttl_seconds/)])
  })
})

describe('cache control headers', () => {
  it('reads no-cache and no-store among other directives', () => {
    expect(readCacheControl({}, 100)).toEqual({ read: true, write: true, ttlMs: undefined })
    expect(readCacheControl({ 'cache-control': 'max-age=0, No-Cache' }, 100)).toMatchObject({
      read: false,
      write: true,
    })
    expect(readCacheControl({ 'cache-control': 'no-store' }, 100)).toMatchObject({ read: true, write: false })
  })

  it('takes a ttl in whole seconds, capped at the configured maximum; 0 stores nothing', () => {
    expect(readCacheControl({ 'x-anygate-cache-ttl': '30' }, 100).ttlMs).toBe(30_000)
    expect(readCacheControl({ 'x-anygate-cache-ttl': ' 500 ' }, 100).ttlMs).toBe(100_000)
    expect(readCacheControl({ 'x-anygate-cache-ttl': '0' }, 100)).toMatchObject({ write: false })
    for (const bad of ['1e3', '-1', 'soon', '99999999999']) {
      expect(() => readCacheControl({ 'x-anygate-cache-ttl': bad }, 100)).toThrow(GatewayError)
    }
  })
})
