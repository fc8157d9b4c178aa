// Property-based fuzzing of every route that takes input, driven by the generated OpenAPI document
// (so by the TypeBox schemas): bodies close to valid, the same with one field broken, and hostile
// values (wrong types, deep nesting, huge strings, prototype-pollution keys), plus raw bytes that
// are not JSON or not UTF-8. Whatever comes in: never a 5xx, always the route's error shape, no
// polluted prototype, and the gateway keeps serving.
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { generateOpenApiDocument } from '../../openapi/document.js'
import { buildTestApp } from '../helpers/app.js'
import { arbitraryFor, type Components, hostileValue, type JsonSchema, mutate } from './schema-arbitrary.js'

const masterKey = 'sk-master-fuzz-0123456789'
const runs = Number(process.env.FUZZ_RUNS ?? 100)

interface Operation {
  method: string
  path: string
  body?: JsonSchema
  params: string[]
  query: string[]
}

interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: RequestBody; parameters?: Parameter[] }>>
  components: { schemas: Components }
}
interface RequestBody {
  content: Record<string, { schema: JsonSchema }>
}
interface Parameter {
  name: string
  in: string
}

let app: FastifyInstance
/** Status counts per route: the fuzzer must also get past validation, not only be refused. */
const statuses: Record<string, Record<number, number>> = {}
let operations: Operation[] = []
let components: Components = {}

beforeAll(async () => {
  ;({ app } = await buildTestApp({
    auth: { master_key: masterKey },
    providers: { mock: { type: 'mock' } },
    models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
    cache: { enabled: true },
  }))
  const document = (await generateOpenApiDocument()) as unknown as OpenApi
  components = document.components.schemas
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      body: op.requestBody?.content['application/json']?.schema,
      params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  )
})

const anthropicRoute = (path: string) => path.startsWith('/v1/messages')

/** The route's error shape: Anthropic's on /v1/messages, OpenAI's everywhere else. */
function expectErrorShape(path: string, status: number, body: string) {
  const parsed = JSON.parse(body) as Record<string, unknown>
  if (anthropicRoute(path)) {
    expect(parsed).toMatchObject({
      type: 'error',
      error: { type: expect.any(String), message: expect.any(String) },
    })
    return
  }
  expect(parsed, `${status} ${body.slice(0, 300)}`).toMatchObject({
    error: { message: expect.any(String), type: expect.any(String) },
  })
  const error = parsed.error as Record<string, unknown>
  expect('param' in error && 'code' in error).toBe(true)
}

async function send(op: Operation, payload: string | Buffer | undefined, pathValue: string, query: string) {
  let url = op.path
  for (const name of op.params) url = url.replace(`{${name}}`, encodeURIComponent(pathValue))
  const res = await app.inject({
    method: op.method as 'GET',
    url: query ? `${url}?${query}` : url,
    headers: {
      authorization: `Bearer ${masterKey}`,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(anthropicRoute(op.path) ? { 'anthropic-version': '2023-06-01' } : {}),
    },
    payload,
  })
  expect(res.statusCode, `${op.method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(
    500,
  )
  const key = `${op.method} ${op.path}`
  statuses[key] ??= {}
  const seen = statuses[key]
  seen[res.statusCode] = (seen[res.statusCode] ?? 0) + 1
  if (res.statusCode >= 400) expectErrorShape(op.path, res.statusCode, res.body)
  return res
}

// Values a served request needs to get past the first check, so the fuzzer also reaches the upstream.
const overrides = {
  model: fc.oneof(
    fc.constant('echo'),
    fc.constant('mock/echo'),
    fc.string({ maxLength: 12 }),
    // Served by the mock whatever follows the slash: the name ends up in response headers.
    fc.string({ unit: 'grapheme', maxLength: 12 }).map((name) => `mock/${name}`),
  ),
  max_tokens: fc.oneof(fc.integer({ min: 1, max: 64 }), hostileValue),
  n: fc.oneof(fc.integer({ min: 1, max: 3 }), hostileValue),
  // The mock refuses top_k (it cannot translate it): mostly leave it out so messages get served.
  top_k: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer() }),
}

describe('fuzzing every route from its schema', () => {
  it('bodies close to valid, with one field broken, or hostile: never a 5xx, always the error shape', async () => {
    const withBody = operations.filter((op) => op.body)
    expect(withBody.map((op) => `${op.method} ${op.path}`)).toContain('POST /v1/chat/completions')
    for (const op of withBody) {
      const valid = arbitraryFor(op.body!, components, 0, overrides)
      const body = fc.oneof(valid, valid.chain(mutate), hostileValue)
      await fc.assert(
        fc.asyncProperty(body, fc.string({ maxLength: 10 }), async (value, pathValue) => {
          await send(op, JSON.stringify(value), pathValue || 'x', '')
        }),
        { numRuns: runs },
      )
    }
    // Close-to-valid bodies reach the upstream (mock) and the admin store, not only the validator.
    for (const route of ['POST /v1/chat/completions', 'POST /v1/embeddings', 'POST /v1/messages']) {
      expect(statuses[route]?.[200] ?? 0, `${route}: ${JSON.stringify(statuses[route])}`).toBeGreaterThan(0)
    }
    expect(statuses['POST /admin/keys']?.[201] ?? 0).toBeGreaterThan(0)
  })

  it('path and query parameters: any string, never a 5xx', async () => {
    const withParams = operations.filter((op) => op.params.length > 0 || op.query.length > 0)
    for (const op of withParams) {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.dictionary(
            fc.constantFrom(...(op.query.length > 0 ? op.query : ['x'])),
            fc.string({ maxLength: 30 }),
          ),
          async (pathValue, query) => {
            const payload = op.body ? '{}' : undefined
            await send(op, payload, pathValue || '-', new URLSearchParams(query).toString())
          },
        ),
        { numRuns: runs },
      )
    }
  })

  it('raw bytes: not JSON, not UTF-8, truncated, deeply nested, huge', async () => {
    const chat = operations.find((op) => op.path === '/v1/chat/completions')!
    const messages = operations.find((op) => op.path === '/v1/messages')!
    const raw: Array<string | Buffer> = [
      '',
      'null',
      '[]',
      '"a string"',
      '{"model": "echo", "messages": [',
      `{"model":"echo","messages":[{"role":"user","content":"${'\\u'}"}]}`,
      Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      Buffer.concat([
        Buffer.from('{"model":"echo","messages":[{"role":"user","content":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}]}'),
      ]),
      '['.repeat(200_000),
      `{"a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_001)}`,
      `{"model":"echo","messages":[{"role":"user","content":"${'x'.repeat(9 * 1024 * 1024)}"}]}`,
    ]
    for (const op of [chat, messages]) {
      for (const payload of raw) {
        const res = await send(op, payload, 'x', '')
        expect(res.statusCode).toBeGreaterThanOrEqual(400)
      }
    }
  })

  it('leaves the prototypes alone and keeps serving', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${masterKey}` },
      payload: { model: 'echo', messages: [{ role: 'user', content: 'still here?' }] },
    })
    expect(res.statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
  })
})
