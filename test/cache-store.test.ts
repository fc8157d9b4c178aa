// One suite for both response cache backends: the memory LRU and Redis (the real one on
// 127.0.0.1:6379, under a key prefix of its own, deleted afterwards). Then what only one of them
// does: the LRU's byte bound and clock-driven expiry; Redis's TTLs, its bounded per-model index and
// its behaviour when Redis is gone.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryCacheStore } from '../plugins/cache/memory-store.js'
import { RedisCacheStore } from '../plugins/cache/redis-store.js'
import { type CachedAnswer, newCachedAnswer, type ResponseCacheStore } from '../plugins/cache/store.js'
import { redisClientOptions } from '../plugins/store/index.js'
import { closedPort, connectTestRedis, deleteKeys, uniquePrefix } from './helpers/redis.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('cache-store')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

const answer = (model: string, text = 'hello', kind: CachedAnswer['kind'] = 'json'): CachedAnswer =>
  newCachedAnswer({
    kind,
    model,
    provider: 'up',
    upstreamModel: 'gpt-test',
    usage: { prompt: 7, completion: 3, cachedPrompt: 0 },
    body: kind === 'json' ? JSON.stringify({ text }) : '',
    chunks: kind === 'stream' ? [JSON.stringify({ delta: text }), '{"choices":[],"usage":{}}'] : [],
  })

let storeCount = 0
const backends: { name: string; create: (() => ResponseCacheStore) | undefined }[] = [
  {
    name: 'MemoryCacheStore',
    create: () => new MemoryCacheStore({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 }),
  },
  {
    name: 'RedisCacheStore',
    create: redis && (() => new RedisCacheStore({ client: redis, keyPrefix: `${prefix}${++storeCount}:` })),
  },
]

describe.each(backends)('$name', ({ create }) => {
  const it_ = create ? it : it.skip
  const newStore = () => create!()

  it_('misses a key nobody stored', async () => {
    expect(await newStore().get('nothing')).toBeUndefined()
  })

  it_('returns what was stored, JSON answers and streams alike', async () => {
    const store = newStore()
    await store.set('a', answer('fast', 'one'), 60_000)
    await store.set('b', answer('fast', 'two', 'stream'), 60_000)
    expect(await store.get('a')).toEqual(answer('fast', 'one'))
    expect(await store.get('b')).toEqual(answer('fast', 'two', 'stream'))
  })

  it_('replaces an answer stored under the same key', async () => {
    const store = newStore()
    await store.set('a', answer('fast', 'old'), 60_000)
    await store.set('a', answer('fast', 'new'), 60_000)
    expect((await store.get('a'))?.body).toBe('{"text":"new"}')
  })

  it_('deletes one model’s answers and counts them', async () => {
    const store = newStore()
    await store.set('a1', answer('a'), 60_000)
    await store.set('a2', answer('a'), 60_000)
    await store.set('b1', answer('openai/gpt-4o'), 60_000)
    expect(await store.clear('a')).toBe(2)
    expect(await store.get('a1')).toBeUndefined()
    expect(await store.get('a2')).toBeUndefined()
    expect(await store.get('b1')).toBeDefined()
    expect(await store.clear('a')).toBe(0)
  })

  it_('deletes every answer and counts them', async () => {
    const store = newStore()
    await store.set('a1', answer('a'), 60_000)
    await store.set('b1', answer('b'), 60_000)
    expect(await store.clear()).toBe(2)
    expect(await store.get('a1')).toBeUndefined()
    expect(await store.get('b1')).toBeUndefined()
    expect(await store.clear()).toBe(0)
  })
})

describe('MemoryCacheStore bounds', () => {
  it('evicts the least recently used answers beyond max_bytes', async () => {
    const big = (model: string) => answer(model, 'x'.repeat(3000))
    const size = big('m').bytes
    const store = new MemoryCacheStore({ maxBytes: size * 3, maxEntryBytes: size * 3 })
    for (const key of ['k1', 'k2', 'k3']) await store.set(key, big('m'), 60_000)
    await store.get('k1') // now the most recently used
    await store.set('k4', big('m'), 60_000)
    expect(store.bytes()).toBeLessThanOrEqual(size * 3)
    expect(await store.get('k2')).toBeUndefined()
    for (const key of ['k1', 'k3', 'k4']) expect(await store.get(key)).toBeDefined()
  })

  it('refuses an answer larger than max_entry_bytes', async () => {
    const store = new MemoryCacheStore({ maxBytes: 1 << 20, maxEntryBytes: 1000 })
    await store.set('big', answer('m', 'x'.repeat(2000)), 60_000)
    expect(await store.get('big')).toBeUndefined()
    expect(store.bytes()).toBe(0)
  })

  it('expires each answer after its own ttl, on the injected clock', async () => {
    let now = 1_000_000
    const store = new MemoryCacheStore({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16, now: () => now })
    await store.set('short', answer('m'), 5_000)
    await store.set('long', answer('m'), 60_000)
    now += 4_999
    expect(await store.get('short')).toBeDefined()
    now += 2
    expect(await store.get('short')).toBeUndefined()
    expect(await store.get('long')).toBeDefined()
    now += 60_000
    expect(await store.get('long')).toBeUndefined()
    expect(store.bytes()).toBe(0)
  })
})

describe.skipIf(!redis)('RedisCacheStore keys', () => {
  it('stores each answer with its ttl in milliseconds', async () => {
    const store = new RedisCacheStore({ client: redis!, keyPrefix: `${prefix}ttl:` })
    await store.set('k', answer('fast'), 5_000)
    const ttl = await redis!.pttl(store.entryKey('k'))
    expect(ttl).toBeGreaterThan(4_000)
    expect(ttl).toBeLessThanOrEqual(5_000)
    expect(await redis!.pttl(store.indexKey('fast'))).toBeGreaterThan(4_000)
  })

  it('trims expired entries from the model index on every write', async () => {
    let now = 1_700_000_000_000
    const store = new RedisCacheStore({ client: redis!, keyPrefix: `${prefix}index:`, now: () => now })
    await store.set('old', answer('fast'), 1_000)
    await store.set('older', answer('fast'), 500)
    now += 2_000
    await store.set('new', answer('fast'), 60_000)
    expect(await redis!.zrange(store.indexKey('fast'), 0, -1)).toEqual([store.entryKey('new')])
  })

  it('shares answers between stores on the same prefix, as replicas do', async () => {
    const keyPrefix = `${prefix}replicas:`
    const one = new RedisCacheStore({ client: redis!, keyPrefix })
    const two = new RedisCacheStore({ client: redis!, keyPrefix })
    await one.set('k', answer('fast', 'shared'), 60_000)
    expect(await two.get('k')).toEqual(answer('fast', 'shared'))
    expect(await two.clear('fast')).toBe(1)
    expect(await one.get('k')).toBeUndefined()
  })

  it('reads a value that is not a cached answer as a miss', async () => {
    const store = new RedisCacheStore({ client: redis!, keyPrefix: `${prefix}corrupt:` })
    await redis!.set(store.entryKey('k'), '{"kind":"json"}')
    expect(await store.get('k')).toBeUndefined()
  })
})

describe('RedisCacheStore without Redis', () => {
  it('misses, skips writes and warns once, never throwing into the request', async () => {
    const client = new Redis(`redis://127.0.0.1:${await closedPort()}`, {
      ...redisClientOptions,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    const warnings: [object, string][] = []
    const log = { warn: (details: object, message: string) => warnings.push([details, message]) }
    const store = new RedisCacheStore({ client, keyPrefix: 'unused:', log })
    expect(await store.get('k')).toBeUndefined()
    await expect(store.set('k', answer('m'), 1000)).resolves.toBeUndefined()
    expect(await store.get('k')).toBeUndefined()
    expect(warnings).toEqual([
      [
        expect.objectContaining({ store: 'cache', operation: 'get', on_error: undefined }),
        'response cache unavailable: answering as a miss and not storing',
      ],
    ])
    await expect(store.clear()).rejects.toThrow()
    client.disconnect()
  })
})
