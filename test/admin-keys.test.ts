// The admin API for virtual keys over HTTP (memory store): create, list, read, edit, rotate, delete;
// its 400s naming the field, 404s and 409s; master-only access; audit lines without secrets.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody } from './helpers/app.js'

const master = 'sk-master-0123456789abcdef'
const configKey = 'cfg-secret-ci-0123456789abcd'

const config = {
  auth: {
    master_key: master,
    keys: [{ name: 'ci', key: configKey, models: ['echo'], rpm: 30 }],
  },
  providers: { mock: { type: 'mock' } },
  models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

function admin(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) {
  return app.inject({ method, url, headers: bearer(master), ...(payload === undefined ? {} : { payload }) })
}

function errorOf(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json()
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  return body.error as { message: string; type: string; param: string | null; code: string | null }
}

const chat = (app: FastifyInstance, key: string, model = 'echo') =>
  app.inject({ method: 'POST', url: '/v1/chat/completions', headers: bearer(key), payload: chatBody(model) })

describe('POST/GET/PATCH/DELETE /admin/keys', () => {
  it('runs a key through its life: created with its secret once, used, edited, rotated, deleted', async () => {
    const { app, rawLogs, logs } = await buildTestApp(config)
    const created = await admin(app, 'POST', '/admin/keys', {
      name: 'team a',
      models: ['echo', 'mock/*'],
      rpm: 60,
      tpm: 10_000,
      max_parallel: 4,
      budget: { amount_usd: 12.5, period: 'monthly' },
      expires_at: '2999-01-01T00:00:00Z',
      metadata: { team: 'a' },
    })
    expect(created.statusCode).toBe(201)
    const key = created.json()
    expect(key).toEqual({
      id: expect.stringMatching(/^key_/),
      object: 'api_key',
      key: expect.stringMatching(/^sk-ag-/),
      name: 'team a',
      source: 'api',
      key_hint: key.key.slice(-4),
      disabled: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      models: ['echo', 'mock/*'],
      rpm: 60,
      tpm: 10_000,
      max_parallel: 4,
      budget: { amount_usd: 12.5, period: 'monthly' },
      expires_at: '2999-01-01T00:00:00.000Z',
      metadata: { team: 'a' },
    })
    expect((await chat(app, key.key)).statusCode).toBe(200)

    const listed = await admin(app, 'GET', '/admin/keys')
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toMatchObject({ object: 'list', has_more: false })
    expect(listed.json().data.map((k: { id: string }) => k.id)).toEqual(['cfg-ci', key.id])
    expect(listed.body).not.toContain(key.key)
    expect(listed.body).not.toContain('hash')

    const { key: _secret, ...record } = key
    const read = await admin(app, 'GET', `/admin/keys/${key.id}`)
    expect(read.json()).toEqual(record)

    const patched = await admin(app, 'PATCH', `/admin/keys/${key.id}`, { rpm: null, name: 'team a2' })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ id: key.id, name: 'team a2', tpm: 10_000 })
    expect(patched.json()).not.toHaveProperty('rpm')

    const rotated = await admin(app, 'POST', `/admin/keys/${key.id}/rotate`)
    expect(rotated.statusCode).toBe(200)
    expect(rotated.json()).toMatchObject({ id: key.id, name: 'team a2', created_at: key.created_at })
    expect(rotated.json().key).not.toBe(key.key)
    expect((await chat(app, key.key)).statusCode).toBe(401)
    expect((await chat(app, rotated.json().key)).statusCode).toBe(200)

    const deleted = await admin(app, 'DELETE', `/admin/keys/${key.id}`)
    expect(deleted.json()).toEqual({ id: key.id, object: 'api_key', deleted: true })
    expect((await chat(app, rotated.json().key)).statusCode).toBe(401)
    errorOf(await admin(app, 'GET', `/admin/keys/${key.id}`), 404)

    const all = rawLogs.join('')
    for (const secret of [key.key, rotated.json().key, master, configKey]) expect(all).not.toContain(secret)
    const audit = logs.filter((l) => typeof l.admin_action === 'string')
    expect(audit.map((l) => [l.admin_action, l.key_id, l.actor])).toEqual([
      ['key.create', key.id, 'master'],
      ['key.update', key.id, 'master'],
      ['key.rotate', key.id, 'master'],
      ['key.delete', key.id, 'master'],
    ])
  })

  it('answers 404 for unknown ids on every route', async () => {
    const { app } = await buildTestApp(config)
    for (const [method, url, payload] of [
      ['GET', '/admin/keys/key_nope'],
      ['PATCH', '/admin/keys/key_nope', { rpm: 1 }],
      ['POST', '/admin/keys/key_nope/rotate'],
      ['DELETE', '/admin/keys/key_nope'],
    ] as const) {
      const error = errorOf(await admin(app, method, url, payload), 404)
      expect(error).toMatchObject({ code: 'key_not_found', param: 'id' })
      expect(error.message).toContain('key_nope')
    }
  })

  it('lists config keys and refuses to change them with a 409 that says where they live', async () => {
    const { app } = await buildTestApp(config)
    const read = await admin(app, 'GET', '/admin/keys/cfg-ci')
    expect(read.json()).toMatchObject({
      id: 'cfg-ci',
      source: 'config',
      models: ['echo'],
      rpm: 30,
      key_hint: 'abcd',
    })
    expect(read.body).not.toContain(configKey)
    for (const [method, url, payload] of [
      ['PATCH', '/admin/keys/cfg-ci', { rpm: 1 }],
      ['POST', '/admin/keys/cfg-ci/rotate'],
      ['DELETE', '/admin/keys/cfg-ci'],
    ] as const) {
      const error = errorOf(await admin(app, method, url, payload), 409)
      expect(error.code).toBe('config_key_read_only')
      expect(error.message).toContain('auth.keys')
    }
    expect((await chat(app, configKey)).statusCode).toBe(200)
  })

  it('answers bad bodies with a 400 naming the field', async () => {
    const { app } = await buildTestApp(config)
    const cases: [string, 'POST' | 'PATCH', object, string][] = [
      ['/admin/keys', 'POST', {}, 'name'],
      ['/admin/keys', 'POST', { name: '' }, 'name'],
      ['/admin/keys', 'POST', { name: 'x', rmp: 10 }, 'rmp'],
      ['/admin/keys', 'POST', { name: 'x', rpm: 0 }, 'rpm'],
      ['/admin/keys', 'POST', { name: 'x', tpm: 1.5 }, 'tpm'],
      ['/admin/keys', 'POST', { name: 'x', budget: { amount_usd: 5, period: 'yearly' } }, 'budget.period'],
      [
        '/admin/keys',
        'POST',
        { name: 'x', budget: { amount_usd: 5, period: 'daily', cap: 1 } },
        'budget.cap',
      ],
      ['/admin/keys', 'POST', { name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      ['/admin/keys', 'POST', { name: 'x', models: ['ok', ''] }, 'models[1]'],
      ['/admin/keys', 'POST', { name: 'x', metadata: 'team a' }, 'metadata'],
      ['/admin/keys/cfg-ci', 'PATCH', { disabled: null }, 'disabled'],
      ['/admin/keys/cfg-ci', 'PATCH', { key: 'sk-ag-mine' }, 'key'],
    ]
    for (const [url, method, payload, param] of cases) {
      const error = errorOf(await admin(app, method, url, payload), 400)
      expect(error.param, JSON.stringify(payload)).toBe(param)
      expect(error.type).toBe('invalid_request_error')
      expect(error.message).toContain(param)
    }
    expect((await admin(app, 'GET', '/admin/keys')).json().data).toHaveLength(1)
  })
})

describe('who may call /admin', () => {
  it('the master key only: no key or a wrong one is 401, a valid virtual key 403', async () => {
    const { app } = await buildTestApp(config)
    const virtual = (await admin(app, 'POST', '/admin/keys', { name: 'user' })).json().key
    expect(errorOf(await app.inject({ method: 'GET', url: '/admin/keys' }), 401).code).toBe('invalid_api_key')
    expect(
      errorOf(await app.inject({ method: 'GET', url: '/admin/keys', headers: bearer('sk-ag-guess') }), 401)
        .code,
    ).toBe('invalid_api_key')
    for (const key of [virtual, configKey]) {
      const error = errorOf(
        await app.inject({ method: 'GET', url: '/admin/keys', headers: bearer(key) }),
        403,
      )
      expect(error).toMatchObject({ type: 'permission_error', code: 'admin_only' })
      const create = await app.inject({
        method: 'POST',
        url: '/admin/keys',
        headers: { 'x-api-key': key },
        payload: { name: 'escalation' },
      })
      errorOf(create, 403)
    }
    expect((await admin(app, 'GET', '/admin/keys')).json().data).toHaveLength(2)
  })

  it('nobody without a master key, even with auth otherwise off', async () => {
    for (const auth of [{}, { master_key: '' }, { keys: [{ name: 'ci', key: configKey }] }]) {
      const { app } = await buildTestApp({ ...config, auth })
      for (const headers of [{}, bearer(configKey)]) {
        const error = errorOf(await app.inject({ method: 'GET', url: '/admin/keys', headers }), 403)
        expect(error.code).toBe('admin_disabled')
        expect(error.message).toContain('auth.master_key')
      }
    }
  })

  it('documents the admin routes under the Admin tag', async () => {
    const { app } = await buildTestApp(config)
    const doc = app.swagger() as unknown as {
      paths: Record<string, Record<string, { tags: string[]; operationId: string }>>
    }
    expect(doc.paths['/admin/keys']!.post).toMatchObject({ tags: ['Admin'], operationId: 'createKey' })
    expect(doc.paths['/admin/keys/{id}/rotate']!.post).toMatchObject({
      tags: ['Admin'],
      operationId: 'rotateKey',
    })
    expect(Object.keys(doc.paths['/admin/keys/{id}']!).sort()).toEqual(['delete', 'get', 'patch'])
  })
})
