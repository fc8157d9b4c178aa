// The key directory over each store, one suite run against the memory store and the real Redis:
// issuing, hashing, verification, expiry and cache ages on an injected clock, rotation, edits,
// deletion, config keys, and two directories over one store standing in for two replicas.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import type { ConfigKey } from '../plugins/keys/config-schema.js'
import { KeyDirectory, type KeyDirectoryOptions } from '../plugins/keys/directory.js'
import { MemoryKeyStore } from '../plugins/keys/memory-store.js'
import { RedisKeyStore } from '../plugins/keys/redis-store.js'
import { hashSecret } from '../plugins/keys/secrets.js'
import type { KeyStore } from '../plugins/keys/types.js'
import type { Principal } from '../plugins/principal.js'
import { redisClientOptions } from '../plugins/store/index.js'
import { connectTestRedis, deleteKeys, startRedisRelay, uniquePrefix } from './helpers/redis.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('keys')

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

interface StoreCase {
  name: string
  /** A fresh store; `label` keeps each test's Redis keys apart. */
  make(label: string): KeyStore
  /** Everything the store holds, key names and values, as text. */
  dump(store: KeyStore, label: string): Promise<string>
}

async function dumpRedis(keyPrefix: string): Promise<string> {
  const parts: string[] = []
  let cursor = '0'
  do {
    const [next, names] = await redis!.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500)
    cursor = next
    for (const name of names) {
      parts.push(name)
      const type = await redis!.type(name)
      if (type === 'string') parts.push((await redis!.get(name)) ?? '')
      else if (type === 'zset') parts.push(...(await redis!.zrange(name, 0, -1)))
      else parts.push(`<${type}>`)
    }
  } while (cursor !== '0')
  return parts.join('\n')
}

const cases: StoreCase[] = [
  {
    name: 'memory',
    make: () => new MemoryKeyStore(),
    dump: async (store) => JSON.stringify(await store.list(10_000)),
  },
]
if (redis) {
  cases.push({
    name: 'redis',
    make: (label) => new RedisKeyStore({ client: redis, keyPrefix: `${prefix}${label}:`, onError: 'deny' }),
    dump: (_store, label) => dumpRedis(`${prefix}${label}:`),
  })
}

let labels = 0
const start = Date.parse('2025-06-01T00:00:00Z')

function setup(storeCase: StoreCase, options: Partial<KeyDirectoryOptions> = {}) {
  const label = `t${++labels}`
  const store = storeCase.make(label)
  const clock = { now: start }
  const directory = new KeyDirectory({
    store,
    now: () => clock.now,
    cache: { ttl_ms: 2000, stale_if_error_ms: 60_000, max_entries: 100 },
    onError: 'deny',
    ...options,
  })
  return { store, clock, directory, label }
}

/** verify() answers synchronously or not; either way, the principal or the error. */
async function verify(directory: KeyDirectory, secret: string): Promise<Principal> {
  return await directory.verify(hashSecret(secret))
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a refusal')
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(GatewayError)
  return err as GatewayError
}

describe.each(cases)('the key directory on the $name store', (storeCase) => {
  it('issues an sk-ag- secret once and keeps only its hash', async () => {
    const { directory, store, label } = setup(storeCase)
    const { record, secret } = await directory.create({
      name: 'ci bot',
      models: ['gpt-*'],
      rpm: 60,
      budget: { amount_usd: 5, period: 'daily' },
      metadata: { team: 'platform' },
    })
    expect(secret).toMatch(/^sk-ag-[A-Za-z0-9_-]{43}$/)
    expect(record).toMatchObject({
      id: expect.stringMatching(/^key_/),
      name: 'ci bot',
      source: 'api',
      disabled: false,
      key_hint: secret.slice(-4),
      created_at: '2025-06-01T00:00:00.000Z',
      updated_at: '2025-06-01T00:00:00.000Z',
      models: ['gpt-*'],
      rpm: 60,
    })
    expect(record).not.toHaveProperty('hash')
    expect(JSON.stringify(await directory.get(record.id))).not.toContain(secret)

    const stored = await storeCase.dump(store, label)
    expect(stored).toContain(hashSecret(secret))
    expect(stored).not.toContain(secret)
    expect(stored).not.toContain(secret.slice('sk-ag-'.length))

    expect(await verify(directory, secret)).toEqual({
      kind: 'virtual',
      id: record.id,
      name: 'ci bot',
      models: ['gpt-*'],
      rpm: 60,
      budget: { amount_usd: 5, period: 'daily' },
      metadata: { team: 'platform' },
    })
  })

  it('refuses an unknown key with invalid_api_key', async () => {
    const { directory } = setup(storeCase)
    const err = await refusal(verify(directory, 'sk-ag-not-a-key-that-exists-anywhere-000000'))
    expect(err).toMatchObject({ statusCode: 401, code: 'invalid_api_key' })
    expect(err.message).not.toContain('sk-ag-')
  })

  it('refuses a key once its expires_at has passed, by the injected clock', async () => {
    const { directory, clock } = setup(storeCase)
    const { record, secret } = await directory.create({
      name: 'temp',
      expires_at: '2025-06-01T03:00:00+02:00',
    })
    // The offset form is stored as the same instant in UTC.
    expect(record.expires_at).toBe('2025-06-01T01:00:00.000Z')
    expect((await verify(directory, secret)).name).toBe('temp')
    clock.now = Date.parse('2025-06-01T01:00:00Z') - 1
    expect((await verify(directory, secret)).name).toBe('temp')
    clock.now = Date.parse('2025-06-01T01:00:00Z')
    const err = await refusal(verify(directory, secret))
    expect(err).toMatchObject({ statusCode: 401, code: 'expired_api_key' })
    expect(err.message).toContain('2025-06-01T01:00:00.000Z')
  })

  it('disables, enables, edits and clears limits, taking effect at once on this replica', async () => {
    const { directory, clock } = setup(storeCase)
    const { record, secret } = await directory.create({ name: 'svc', rpm: 10, tpm: 1000, models: ['a'] })
    await verify(directory, secret) // remembered now
    clock.now += 1000
    const disabled = await directory.update(record.id, { disabled: true })
    expect(disabled).toMatchObject({ disabled: true, updated_at: '2025-06-01T00:00:01.000Z' })
    expect(await refusal(verify(directory, secret))).toMatchObject({
      statusCode: 401,
      code: 'disabled_api_key',
    })

    const edited = await directory.update(record.id, { disabled: false, name: 'svc2', rpm: null, tpm: 5 })
    expect(edited).toMatchObject({ name: 'svc2', tpm: 5, models: ['a'], created_at: record.created_at })
    expect(edited).not.toHaveProperty('rpm')
    const principal = await verify(directory, secret)
    expect(principal).toMatchObject({ name: 'svc2', tpm: 5 })
    expect(principal).not.toHaveProperty('rpm')
  })

  it('rotates: same id and record, the old secret refused and the new one accepted at once', async () => {
    const { directory, store, label, clock } = setup(storeCase)
    const { record, secret: oldSecret } = await directory.create({ name: 'rotating', tpm: 100 })
    expect((await verify(directory, oldSecret)).id).toBe(record.id)
    clock.now += 5000
    const rotated = await directory.rotate(record.id)
    expect(rotated.secret).not.toBe(oldSecret)
    expect(rotated.record).toMatchObject({
      id: record.id,
      name: 'rotating',
      tpm: 100,
      created_at: record.created_at,
      updated_at: '2025-06-01T00:00:05.000Z',
      key_hint: rotated.secret.slice(-4),
    })
    expect(await refusal(verify(directory, oldSecret))).toMatchObject({ statusCode: 401 })
    expect((await verify(directory, rotated.secret)).id).toBe(record.id)
    const stored = await storeCase.dump(store, label)
    expect(stored).not.toContain(hashSecret(oldSecret))
    expect(stored).toContain(hashSecret(rotated.secret))
    expect((await directory.list()).keys.map((k) => k.id)).toEqual([record.id])
  })

  it('deletes: the key is refused and gone; unknown ids are 404', async () => {
    const { directory, store, label } = setup(storeCase)
    const { record, secret } = await directory.create({ name: 'doomed' })
    await verify(directory, secret)
    await directory.delete(record.id)
    expect(await refusal(verify(directory, secret))).toMatchObject({ statusCode: 401 })
    for (const attempt of [
      directory.get(record.id),
      directory.delete(record.id),
      directory.update(record.id, { rpm: 1 }),
      directory.rotate(record.id),
    ]) {
      expect(await refusal(attempt)).toMatchObject({ statusCode: 404, code: 'key_not_found' })
    }
    expect(await storeCase.dump(store, label)).not.toContain(record.id)
  })

  it('lists oldest first and says when there are more than a page', async () => {
    const { directory, store, clock } = setup(storeCase)
    const ids: string[] = []
    for (const name of ['a', 'b', 'c']) {
      clock.now += 1
      ids.push((await directory.create({ name })).record.id)
    }
    await directory.rotate(ids[0]!) // a rotation keeps the key's place
    expect((await directory.list()).keys.map((k) => k.id)).toEqual(ids)
    const page = await store.list(2)
    expect(page.keys.map((k) => k.id)).toEqual(ids.slice(0, 2))
    expect(page.hasMore).toBe(true)
    expect((await store.list(3)).hasMore).toBe(false)
  })

  it('loses no edit when several land at the same time', async () => {
    const { directory, store } = setup(storeCase)
    const { record } = await directory.create({ name: 'busy', metadata: {} })
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((field) =>
        store.update(record.id, (current) => ({
          ...current,
          metadata: { ...current.metadata, [field]: true },
        })),
      ),
    )
    expect((await directory.get(record.id)).metadata).toEqual({ a: true, b: true, c: true, d: true, e: true })
  })

  it("two replicas: one's change reaches the other when its remembered lookup ages out", async () => {
    const a = setup(storeCase)
    const clock = a.clock
    const b = new KeyDirectory({
      store: a.store,
      now: () => clock.now,
      cache: { ttl_ms: 2000, stale_if_error_ms: 0, max_entries: 100 },
    })
    const { record, secret } = await a.directory.create({ name: 'shared' })
    expect((await verify(b, secret)).id).toBe(record.id) // B remembers it
    await a.directory.update(record.id, { disabled: true })
    expect(await refusal(verify(a.directory, secret))).toMatchObject({ code: 'disabled_api_key' })
    clock.now += 1999
    expect((await verify(b, secret)).id).toBe(record.id)
    clock.now += 1
    expect(await refusal(verify(b, secret))).toMatchObject({ code: 'disabled_api_key' })
  })
})

describe('config-declared keys', () => {
  const configKeys: ConfigKey[] = [
    { name: 'ci', key: 'ci-secret-0123456789abcdef', models: ['echo'], rpm: 5, disabled: false },
    { name: 'old', key: 'old-secret-0123456789abcdef', disabled: true },
  ]

  it('verify without a store lookup, are listed first, and are read-only', async () => {
    const store = new MemoryKeyStore()
    const directory = new KeyDirectory({ store, configKeys, now: () => start })
    expect(directory.hasConfigKeys).toBe(true)
    const principal = directory.verify(hashSecret('ci-secret-0123456789abcdef'))
    expect(principal).toEqual({ kind: 'virtual', id: 'cfg-ci', name: 'ci', models: ['echo'], rpm: 5 })
    expect(() => directory.verify(hashSecret('old-secret-0123456789abcdef'))).toThrow(
      expect.objectContaining({ statusCode: 401, code: 'disabled_api_key' }),
    )
    const created = await directory.create({ name: 'api one' })
    const listed = (await directory.list()).keys
    expect(listed.map((k) => [k.id, k.source])).toEqual([
      ['cfg-ci', 'config'],
      ['cfg-old', 'config'],
      [created.record.id, 'api'],
    ])
    expect(JSON.stringify(listed)).not.toContain('0123456789abcdef')
    expect(listed[0]!.key_hint).toBe('cdef')
    for (const attempt of [
      directory.update('cfg-ci', { rpm: 1 }),
      directory.rotate('cfg-ci'),
      directory.delete('cfg-ci'),
    ]) {
      expect(await refusal(attempt)).toMatchObject({ statusCode: 409, code: 'config_key_read_only' })
    }
    expect(await directory.get('cfg-ci')).toMatchObject({ id: 'cfg-ci', rpm: 5 })
  })
})

describe.skipIf(!redis)('the Redis store while Redis is unreachable', () => {
  async function relayed(onError: 'allow' | 'deny') {
    const relay = await startRedisRelay()
    onTestFinished(() => relay.close())
    const client = new Redis(relay.url, redisClientOptions)
    client.on('error', () => {})
    await client.connect()
    onTestFinished(() => client.disconnect())
    const clock = { now: start }
    const directory = new KeyDirectory({
      store: new RedisKeyStore({ client, keyPrefix: `${prefix}down-${onError}:`, onError }),
      now: () => clock.now,
      cache: { ttl_ms: 1000, stale_if_error_ms: 30_000, max_entries: 100 },
      onError,
    })
    const { secret } = await directory.create({ name: 'known' })
    const other = await directory.create({ name: 'never used' })
    await verify(directory, secret)
    clock.now += 5000 // past ttl_ms: the next request would ask Redis
    relay.drop()
    return { directory, clock, secret, otherSecret: other.secret }
  }

  it('on_error allow: a recently verified key still works; any other gets a 503, never in', async () => {
    const { directory, clock, secret, otherSecret } = await relayed('allow')
    expect((await verify(directory, secret)).name).toBe('known')
    const err = await refusal(verify(directory, otherSecret))
    expect(err).toMatchObject({ statusCode: 503, code: 'store_unavailable' })
    expect(err.message).toContain('master key still works')
    clock.now += 30_000
    expect(await refusal(verify(directory, secret))).toMatchObject({ statusCode: 503 })
    expect(await refusal(directory.create({ name: 'while down' }))).toMatchObject({ statusCode: 503 })
  })

  it('on_error deny: every key the replica does not hold fresh gets a 503', async () => {
    const { directory, secret } = await relayed('deny')
    expect(await refusal(verify(directory, secret))).toMatchObject({
      statusCode: 503,
      code: 'store_unavailable',
    })
  })
})
