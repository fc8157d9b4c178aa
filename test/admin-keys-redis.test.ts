// Virtual keys on the Redis store: two gateways sharing a Redis are two replicas that see each
// other's keys, rotations and deletions; Redis holds no secret in clear; and with Redis unreachable
// a virtual key gets a 503 whatever store.on_error says, while the master key still works.
import type { FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { buildTestApp, chatBody } from './helpers/app.js'
import { closedPort, connectTestRedis, deleteKeys, testRedisUrl, uniquePrefix } from './helpers/redis.js'

const redis = await connectTestRedis()
const prefix = uniquePrefix('admin-keys')
const master = 'sk-master-0123456789abcdef'

afterAll(async () => {
  if (!redis) return
  await deleteKeys(redis, prefix)
  await redis.quit()
})

function gatewayConfig(url: string, keyPrefix: string, extra: Record<string, unknown> = {}) {
  return {
    auth: { master_key: master, ...extra },
    store: { type: 'redis', url, key_prefix: keyPrefix },
    providers: { mock: { type: 'mock' } },
    models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
  }
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const chat = (app: FastifyInstance, key: string) =>
  app.inject({ method: 'POST', url: '/v1/chat/completions', headers: bearer(key), payload: chatBody('echo') })
const admin = (app: FastifyInstance, method: 'POST' | 'DELETE' | 'GET', url: string, payload?: object) =>
  app.inject({ method, url, headers: bearer(master), ...(payload === undefined ? {} : { payload }) })

describe.skipIf(!redis)('keys shared by replicas through Redis', () => {
  it("sees each other's keys, rotations and deletions; Redis holds only hashes", async () => {
    const keyPrefix = `${prefix}replicas:`
    // A remembers verified keys for the default 2 s; B asks Redis on every request.
    const { app: a } = await buildTestApp(gatewayConfig(testRedisUrl, keyPrefix))
    const { app: b } = await buildTestApp(
      gatewayConfig(testRedisUrl, keyPrefix, { key_cache: { ttl_ms: 0 } }),
    )

    const created = (await admin(a, 'POST', '/admin/keys', { name: 'shared', rpm: 5 })).json()
    expect((await chat(b, created.key)).statusCode).toBe(200)
    expect((await chat(a, created.key)).statusCode).toBe(200)
    expect((await admin(b, 'GET', `/admin/keys/${created.id}`)).json()).toMatchObject({
      name: 'shared',
      rpm: 5,
    })

    // Rotation on A: the old secret is refused at once on A (its memory dropped) and on B.
    const rotated = (await admin(a, 'POST', `/admin/keys/${created.id}/rotate`)).json()
    expect(rotated.id).toBe(created.id)
    expect((await chat(a, created.key)).statusCode).toBe(401)
    expect((await chat(b, created.key)).statusCode).toBe(401)
    expect((await chat(b, rotated.key)).statusCode).toBe(200)

    let stored = ''
    let cursor = '0'
    do {
      const [next, names] = await redis!.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500)
      cursor = next
      for (const name of names) {
        stored += name
        if ((await redis!.type(name)) === 'string') stored += await redis!.get(name)
      }
    } while (cursor !== '0')
    expect(stored).toContain(created.id)
    for (const secret of [created.key, rotated.key, master]) expect(stored).not.toContain(secret)

    // Deleted on B: refused on B at once; A, which remembers the key, within its 2 s (the clock-driven
    // version of that is in keys-directory.test.ts).
    expect((await admin(b, 'DELETE', `/admin/keys/${rotated.id}`)).statusCode).toBe(200)
    expect((await chat(b, rotated.key)).statusCode).toBe(401)
    expect((await admin(a, 'GET', '/admin/keys')).json().data).toEqual([])
  })
})

describe('Redis unreachable', () => {
  for (const onError of ['allow', 'deny'] as const) {
    it(`on_error ${onError}: a virtual key gets a 503 store_unavailable, the master key still works`, async () => {
      const url = `redis://127.0.0.1:${await closedPort()}`
      const { app } = await buildTestApp({
        ...gatewayConfig(url, `${prefix}down:`),
        store: { type: 'redis', url, key_prefix: `${prefix}down:`, on_error: onError },
      })
      const res = await chat(app, 'sk-ag-some-key-nobody-could-check-000000000')
      expect(res.statusCode).toBe(503)
      expect(res.json().error).toMatchObject({ type: 'service_unavailable', code: 'store_unavailable' })
      expect(res.headers['retry-after']).toBe('1')
      // The master key needs no Redis (a chat would meet the breaker store's own on_error).
      const models = await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(master) })
      expect(models.statusCode).toBe(200)
      const created = await admin(app, 'POST', '/admin/keys', { name: 'while down' })
      expect(created.statusCode).toBe(503)
    })
  }
})
