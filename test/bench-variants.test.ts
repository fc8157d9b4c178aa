// The AnyGate configs the bench compares: each one a valid config that differs from the default
// only in the plugins its name says.
import { describe, expect, it } from 'vitest'
import { benchConfig } from '../bench/anygate-target.js'
import { stackGlobalRpm, stackKeyLimits, variantDocument } from '../bench/anygate-variants.js'

const upstreamOrigin = 'http://127.0.0.1:9'
const secrets = { masterKey: 'bench-master-0123456789abcdef', clientKey: 'bench-client-0123456789abcdef' }
const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'anygate-bench:1:2:' }

describe('bench AnyGate variants', () => {
  it('default: metrics on, no auth, no limits, no cache, one target at the fake upstream', () => {
    const config = benchConfig({ upstreamOrigin })
    expect(config.metrics.enabled).toBe(true)
    expect(config.auth.master_key).toBeUndefined()
    expect(config.auth.keys).toEqual([])
    expect(config.limits.global_rpm).toBeUndefined()
    expect(config.cache.enabled).toBe(false)
    expect(config.store.type).toBe('memory')
    expect(config.providers.map((p) => [p.name, p.base_url])).toEqual([['bench', `${upstreamOrigin}/v1`]])
  })

  it('bare: the default with metrics off', () => {
    const bare = benchConfig({ upstreamOrigin, variant: 'bare' })
    const standard = benchConfig({ upstreamOrigin })
    expect(bare.metrics.enabled).toBe(false)
    expect({ ...bare, metrics: standard.metrics }).toEqual(standard)
  })

  it('stack-memory: master key, a limited virtual key, global_rpm, a priced model, memory store', () => {
    const config = benchConfig({ upstreamOrigin, variant: 'stack-memory' }, secrets)
    expect(config.auth.master_key).toBe(secrets.masterKey)
    expect(config.auth.keys).toMatchObject([{ key: secrets.clientKey, ...stackKeyLimits }])
    expect(config.limits.global_rpm).toBe(stackGlobalRpm)
    expect(config.pricing.models['fake-model']).toEqual({ input: 1, output: 2 })
    expect(config.metrics.enabled).toBe(true)
    expect(config.store.type).toBe('memory')
  })

  it('stack-redis: the same on Redis under the run prefix, refusing calls if Redis fails', () => {
    const config = benchConfig({ upstreamOrigin, variant: 'stack-redis', redis }, secrets)
    expect(config.store).toEqual({
      type: 'redis',
      url: redis.url,
      key_prefix: redis.keyPrefix,
      on_error: 'deny',
    })
    const memory = benchConfig({ upstreamOrigin, variant: 'stack-memory' }, secrets)
    expect({ ...config, store: memory.store }).toEqual(memory)
  })

  it('cache: the default with the memory cache on', () => {
    const config = benchConfig({ upstreamOrigin, variant: 'cache' })
    expect(config.cache).toMatchObject({ enabled: true, backend: 'memory' })
    expect(config.metrics.enabled).toBe(true)
  })

  it('refuses a stack variant without its keys, and stack-redis without Redis', () => {
    expect(() => variantDocument({ variant: 'stack-memory', upstreamOrigin })).toThrow('needs a master key')
    expect(() => variantDocument({ variant: 'stack-redis', upstreamOrigin, secrets })).toThrow(
      'needs a Redis url',
    )
  })

  it('spreads a 3-target group over three providers weighted 3:2:1', () => {
    const config = benchConfig({ upstreamOrigin, targets: 3 })
    expect(config.models[0]!.targets.map((t) => [t.provider, t.weight])).toEqual([
      ['bench-1', 3],
      ['bench-2', 2],
      ['bench-3', 1],
    ])
  })
})
