// Secrets never leak (issue #8). One gateway with every sink on (debug logs, the usage log with
// bodies, OTLP traces, metrics) in front of loopback upstreams of every provider type that answer
// normally, fail, and echo the key they received (whole, or its first 16 characters, as some real
// providers do). It is driven through every route of the OpenAPI document and every error path,
// then every response (body and headers), raw log line, usage record, exported span and the
// metrics page is searched for each secret and for every 12-character piece of it: a
// half-redacted key is still a leak. Only the answer that creates or rotates a key may hold it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../app.js'
import { loadConfigFile } from '../../config/load.js'
import { generateOpenApiDocument } from '../../openapi/document.js'
import { scrub } from '../../providers/openai/errors.js'
import { configuredSecrets } from '../../providers/shared/client-key.js'
import { captureLogs } from '../helpers/app.js'
import { closeSuiteResources } from '../helpers/cleanup.js'
import { type LeakyUpstream, startLeakyUpstream, startOtlpReceiver } from './leaky-upstreams.js'

const random = (prefix: string, bytes = 16) => `${prefix}${randomBytes(bytes).toString('hex')}`

// Fresh on every run. Prefixes stay under 12 characters, so every 12-character piece is random.
const secrets = {
  master: random('sk-mst-'),
  configKey: random('cfg-'),
  expiredKey: random('old-'),
  narrowKey: random('nar-'),
  tightKey: random('tgt-'),
  openai: random('sk-proj-'),
  anthropic: random('sk-ant-'),
  gemini: `AIza${randomBytes(18).toString('base64url').slice(0, 24)}${random('', 6)}`,
  azure: random(''),
  ollama: random('oll-'),
  headerKey: random('hdr-'),
  byokOperator: random('sk-op-'),
  client: random('sk-cli-'),
  redisPassword: random('rp-'),
  otlpToken: random('ot-'),
  reloadKey: random('gsk_'),
  badReloadKey: random('sk-bad-'),
  yamlReloadKey: random('sk-yml-'),
}
/** Virtual-key secrets learned from the 201/200 answers that issue them. */
const issued: Record<string, string> = {}
const everySecret = () => ({ ...secrets, ...issued })

/** Each 12-character piece of a secret that shows up in `text`; the whole secret first. */
function leaksOf(text: string, secret: string): string[] {
  if (text.includes(secret)) return [secret]
  const found: string[] = []
  for (let i = 0; i + 12 <= secret.length; i++) {
    const piece = secret.slice(i, i + 12)
    if (text.includes(piece)) found.push(piece)
  }
  return found
}

function expectNoSecrets(sink: string, text: string, allowed: string[] = []) {
  const leaks: string[] = []
  for (const [name, secret] of Object.entries(everySecret())) {
    if (allowed.includes(secret)) continue
    const pieces = leaksOf(text, secret)
    if (pieces.length > 0) {
      const at = text.indexOf(pieces[0]!)
      leaks.push(`${name} in ${sink}: …${text.slice(Math.max(0, at - 120), at + 60)}…`)
    }
  }
  expect(leaks, leaks.join('\n\n')).toEqual([])
}

// --- the gateway -------------------------------------------------------------------------------

type Fakes = Record<'openai' | 'anthropic' | 'gemini' | 'azure' | 'ollama' | 'byok', LeakyUpstream>

function gatewayConfig(fakes: Fakes, otlp: string, usagePath: string) {
  return {
    server: { log_level: 'debug' },
    auth: {
      master_key: secrets.master,
      keys: [
        { name: 'app', key: secrets.configKey },
        { name: 'old', key: secrets.expiredKey, expires_at: '2020-01-01T00:00:00Z' },
        { name: 'narrow', key: secrets.narrowKey, models: ['fast'] },
        { name: 'tight', key: secrets.tightKey, rpm: 1 },
      ],
    },
    store: { type: 'memory', url: `redis://default:${secrets.redisPassword}@127.0.0.1:6379/0` },
    routing: {
      retries: 1,
      backoff_ms: { base: 1, max: 5 },
      circuit_breaker: { consecutive_failures: 1000, min_samples: 1000 },
    },
    cache: { enabled: true },
    metrics: { enabled: true, auth: 'master' },
    telemetry: {
      otlp_endpoint: otlp,
      headers: { authorization: `Bearer ${secrets.otlpToken}` },
      batch_delay_ms: 50,
    },
    logging: { usage: { enabled: true, destination: usagePath }, bodies: true },
    providers: {
      mock: { type: 'mock' },
      openai: { type: 'openai', base_url: fakes.openai.upstream.url, api_key: secrets.openai },
      slow: {
        type: 'openai',
        base_url: fakes.openai.upstream.url,
        api_key: secrets.openai,
        timeouts: { connect_ms: 2_000, first_byte_ms: 400, total_ms: 10_000 },
      },
      claude: { type: 'anthropic', base_url: fakes.anthropic.upstream.origin, api_key: secrets.anthropic },
      google: { type: 'gemini', base_url: fakes.gemini.upstream.origin, api_key: secrets.gemini },
      azure: { type: 'azure', base_url: fakes.azure.upstream.origin, api_key: secrets.azure },
      local: { type: 'ollama', base_url: fakes.ollama.upstream.url, api_key: secrets.ollama },
      // A key in an extra header (an auth proxy in front of the provider) is a secret as well.
      proxied: {
        type: 'openai',
        base_url: fakes.openai.upstream.url,
        headers: { authorization: `Bearer ${secrets.headerKey}` },
      },
      byok: {
        type: 'openai',
        base_url: fakes.byok.upstream.url,
        api_key: secrets.byokOperator,
        allow_client_key: true,
      },
    },
    models: [
      { name: 'fast', targets: [{ provider: 'openai', model: 'ok' }] },
      {
        name: 'flaky',
        targets: [
          { provider: 'openai', model: 'echo-500' },
          { provider: 'google', model: 'echo-500' },
        ],
        fallbacks: ['fast'],
      },
    ],
  }
}

interface Exchange {
  label: string
  method: string
  url: string
  status: number
  expected: number[]
  text: string
  /** The one secret this answer may hold: the key it issued. */
  allowed?: string
}

const exchanges: Exchange[] = []
let app: FastifyInstance
let fakes: Fakes
let configPath: string
let usagePath: string
let metricsText = ''
let otlpBodies: string[] = []
let rawLogs: string[] = []
let usageLog = ''
let operations: { method: string; path: string }[] = []
/** The statuses virtual keys got from each /admin operation. */
const adminWithVirtualKey: { op: string; key: string; status: number; code: unknown }[] = []

interface SendOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** The bearer key; the master key unless given, null for none. */
  key?: string | null
  headers?: Record<string, string>
}

const chatUrl = '/v1/chat/completions'

/** One request, recorded with what it should answer; a string body is sent as raw JSON text. */
async function send(
  label: string,
  expected: number | number[],
  url: string,
  body?: unknown,
  options: SendOptions = {},
): Promise<LightMyRequestResponse> {
  const key = options.key === undefined ? secrets.master : options.key
  const method = options.method ?? (body === undefined ? 'GET' : 'POST')
  const res = await app.inject({
    method,
    url,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(url.startsWith('/v1/messages') ? { 'anthropic-version': '2023-06-01' } : {}),
      ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(body === undefined ? {} : { payload: body as string | object }),
  })
  exchanges.push({
    label,
    method,
    url,
    status: res.statusCode,
    expected: ([] as number[]).concat(expected),
    text: `${JSON.stringify(res.headers)}\n${res.body}`,
  })
  return res
}

/** The answer that issued `secret` is the one place it may appear. */
function issuedIn(res: LightMyRequestResponse, name: string): string {
  const secret = (res.json() as { key: string }).key
  issued[name] = secret
  exchanges.at(-1)!.allowed = secret
  return secret
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'hello there' }],
  ...extra,
})
const anthropicBody = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 16,
  messages: [{ role: 'user', content: 'hello there' }],
  ...extra,
})
const streamed = { stream: true }

// [what, upstream model (leaky-upstreams.ts), extra body fields, status]. A stream that fails after
// its first byte keeps its 200 and ends with an error event.
const chatCases: [string, string, Record<string, unknown>, number | number[]][] = [
  ['ok', 'ok', {}, 200],
  ['ok stream', 'ok', { stream: true, stream_options: { include_usage: true } }, 200],
  ['401 echo', 'echo-401', {}, 401],
  ['401 prefix echo', 'echo-prefix', {}, 401],
  ['error fields echo', 'echo-fields', {}, 400],
  ['500 echo', 'echo-500', {}, 502],
  ['500 echo stream', 'echo-500', streamed, 502],
  ['mid-stream error echo', 'echo-stream', streamed, 200],
  ['stream reset', 'cut-stream', streamed, [200, 502]],
  ['html page', 'html', {}, 502],
]
const messagesCases: [string, string, Record<string, unknown>, number][] = [
  ['messages', 'ok', {}, 200],
  ['messages stream', 'ok', streamed, 200],
  ['messages 401 echo', 'echo-401', {}, 401],
  ['messages mid-stream error echo', 'echo-stream', streamed, 200],
]
const embeddingsCases: [string, string, unknown, number][] = [
  ['embeddings', 'ok', 'hi', 200],
  ['embeddings batch', 'ok', ['a', 'b'], 200],
  ['embeddings 401 echo', 'echo-401', 'hi', 401],
]

async function driveInference() {
  for (const p of ['openai', 'claude', 'google', 'azure', 'local', 'proxied']) {
    for (const [what, model, extra, status] of chatCases)
      await send(`${p} ${what}`, status, chatUrl, chat(`${p}/${model}`, extra))
    for (const [what, model, extra, status] of messagesCases)
      await send(`${p} ${what}`, status, '/v1/messages', anthropicBody(`${p}/${model}`, extra))
    if (p === 'claude') continue // Anthropic has no embeddings
    for (const [what, model, input, status] of embeddingsCases)
      await send(`${p} ${what}`, status, '/v1/embeddings', { model: `${p}/${model}`, input })
  }
  await send('count tokens', 200, '/v1/messages/count_tokens', anthropicBody('claude/ok'))
  await send('first-byte timeout', 504, chatUrl, chat('slow/slow'))
  await send('stream stalls after its first byte', 200, chatUrl, chat('slow/stall-stream', streamed))
  await send('public model', 200, chatUrl, chat('fast'))
  await send('retries, then a fallback', 200, chatUrl, chat('flaky'))
  for (const label of ['cache miss', 'cache hit'])
    await send(label, 200, chatUrl, chat('fast', { temperature: 0 }))
  await send('mock', 200, chatUrl, chat('mock/echo'))
  await send('mock mid-stream failure', 200, chatUrl, chat('mock/echo', streamed), {
    headers: { 'x-mock-fail-after': '1' },
  })
  await send('models', 200, '/v1/models')
  await send('model', 200, '/v1/models/fast')
  await send('model by provider', 200, `/v1/models/${encodeURIComponent('google/ok')}`)
}

async function driveClientKeys() {
  const headers = { 'x-anygate-provider-key': secrets.client }
  for (const [what, model, extra, status] of chatCases.slice(0, 8))
    await send(`client key ${what}`, status, chatUrl, chat(`byok/${model}`, extra), { headers })
  await send('client key on messages', 401, '/v1/messages', anthropicBody('byok/echo-401'), { headers })
  await send(
    'client key embeddings',
    502,
    '/v1/embeddings',
    { model: 'byok/echo-500', input: 'x' },
    { headers },
  )
  await send('client key where not allowed', 400, chatUrl, chat('openai/ok'), { headers })
  await send('operator key on the byok provider', 401, chatUrl, chat('byok/echo-401'))
}

/** Near misses share most of a real secret, so an answer or log line repeating them is caught. */
async function driveAuthErrors() {
  const body = chat('fast')
  await send('no key', 401, chatUrl, body, { key: null })
  await send('near-miss master key', 401, chatUrl, body, { key: `${secrets.master.slice(0, -1)}x` })
  await send('master key with a suffix', 401, chatUrl, body, { key: `${secrets.master}0` })
  await send('near-miss key as x-api-key', 401, '/v1/messages', anthropicBody('fast'), {
    key: null,
    headers: { 'x-api-key': `${secrets.configKey}z` },
  })
  await send('master key as Basic', 401, chatUrl, body, {
    key: null,
    headers: { authorization: `Basic ${secrets.master}` },
  })
  await send('expired key', 401, chatUrl, body, { key: secrets.expiredKey })
  await send('config key', 200, chatUrl, body, { key: secrets.configKey })
  await send('model not allowed', 403, chatUrl, chat('openai/ok'), { key: secrets.narrowKey })
  await send('rate limited, first', 200, chatUrl, body, { key: secrets.tightKey })
  await send('rate limited', 429, chatUrl, body, { key: secrets.tightKey })
  await send('unknown model', 404, chatUrl, chat('nope/nothing-here'))
  await send('unknown model by key', 404, chatUrl, chat('no-such-model'), { key: secrets.configKey })
  await send('validation error', 400, chatUrl, { model: 'fast' })
  await send('invalid json', 400, chatUrl, '{"model": "fast", ')
  await send('messages validation error', 400, '/v1/messages', { model: 'fast' })
  await send('unknown route', 404, '/v1/nothing')
}

async function driveAdmin() {
  await send('list keys', 200, '/admin/keys')
  const created = await send('create key', 201, '/admin/keys', {
    name: 'team-a',
    models: ['fast'],
    metadata: { owner: 'ops' },
  })
  const { id } = created.json() as { id: string }
  const first = issuedIn(created, 'created')
  const other = await send('create another key', 201, '/admin/keys', { name: 'team-b' })
  const otherId = (other.json() as { id: string }).id
  issuedIn(other, 'other')
  await send('get key', 200, `/admin/keys/${id}`)
  await send('patch key', 200, `/admin/keys/${id}`, { rpm: 100 }, { method: 'PATCH' })
  await send('created key calls', 200, chatUrl, chat('fast'), { key: first })
  const rotated = issuedIn(await send('rotate key', 200, `/admin/keys/${id}/rotate`, {}), 'rotated')
  await send('old secret after rotate', 401, chatUrl, chat('fast'), { key: first })
  await send('rotated key calls', 200, chatUrl, chat('fast'), { key: rotated })
  await send('list keys again', 200, '/admin/keys')
  await send('patch a config key', 409, '/admin/keys/cfg-app', { rpm: 1 }, { method: 'PATCH' })
  await send('rotate a config key', 409, '/admin/keys/cfg-app/rotate', {})
  await send('delete key', 200, `/admin/keys/${otherId}`, undefined, { method: 'DELETE' })
  await send('deleted key', 404, `/admin/keys/${otherId}`)
  await send('deleted key calls', 401, chatUrl, chat('fast'), { key: issued.other })
  await send('spend', 200, '/admin/spend?group_by=key')
  await send('purge cache', 200, '/admin/cache', undefined, { method: 'DELETE' })
  await send('config', 200, '/admin/config')
  await send('providers', 200, '/admin/providers')
  await send('disable provider', 200, '/admin/providers/openai/disable', {})
  await send('call a disabled provider', 503, chatUrl, chat('fast'))
  await send('enable provider', 200, '/admin/providers/openai/enable', {})
  await send('unknown provider', 404, '/admin/providers/nope/disable', {})
}

/** A file with a new provider's key, then invalid ones full of secrets: named problems, no values. */
async function driveReload() {
  const current = JSON.parse(readFileSync(configPath, 'utf8'))
  const groq = { type: 'openai', base_url: fakes.openai.upstream.url, api_key: secrets.reloadKey }
  writeFileSync(configPath, JSON.stringify({ ...current, providers: { ...current.providers, groq } }))
  await send('reload', 200, '/admin/reload', {})
  await send('reloaded provider', 200, chatUrl, chat('groq/ok'))
  await send('reloaded provider 401 echo', 401, chatUrl, chat('groq/echo-401'))
  await send('config after reload', 200, '/admin/config')
  const bad = secrets.badReloadKey
  const invalid = {
    ...current,
    auth: { ...current.auth, master_key: { nested: bad } },
    providers: {
      ...current.providers,
      bad: { type: 'openai', base_url: `not a url ${bad}`, api_key: bad },
      worse: { type: 'openai', api_key: 42, headers: { 'x-key': bad }, nope: true },
    },
  }
  writeFileSync(configPath, JSON.stringify(invalid))
  await send('reload an invalid file', 422, '/admin/reload', {})
  writeFileSync(
    configPath,
    `providers:\n  groq:\n    type: openai\n    api_key: ${secrets.yamlReloadKey}: [\n`,
  )
  await send('reload a file that is not YAML', 422, '/admin/reload', {})
}

async function driveOperatorRoutes() {
  await send('live', 200, '/health/live', undefined, { key: null })
  // Never listening (inject), so never ready: its 503 is an answer like the others.
  await send('ready', [200, 503], '/health/ready', undefined, { key: null })
  await send('provider health', 200, '/health/providers', undefined, { key: null })
  await send('openapi', 200, '/openapi.json', undefined, { key: null })
  await send('docs', [200, 302], '/docs', undefined, { key: null })
  await send('dashboard', [200, 301, 302], '/ui', undefined, { key: null })
  await send('metrics with a virtual key', 403, '/metrics', undefined, { key: secrets.configKey })
  metricsText = (await send('metrics', 200, '/metrics')).body
}

/** Every /admin operation of the document with each kind of virtual key: 403, nothing done. */
async function driveAdminWithVirtualKeys() {
  const keys = { config: secrets.configKey, rotated: issued.rotated! }
  for (const op of operations.filter((o) => o.path.startsWith('/admin'))) {
    const url = op.path.replace('{id}', 'cfg-app').replace('{name}', 'openai')
    const body = op.method === 'POST' || op.method === 'PATCH' ? {} : undefined
    for (const [kind, key] of Object.entries(keys)) {
      const method = op.method as SendOptions['method']
      const res = await send(`${kind} key at ${op.method} ${op.path}`, 403, url, body, { method, key })
      const code = res.statusCode === 403 ? (res.json() as { error: { code: unknown } }).error.code : null
      adminWithVirtualKey.push({ op: `${op.method} ${op.path}`, key: kind, status: res.statusCode, code })
    }
  }
}

beforeAll(async () => {
  const document = (await generateOpenApiDocument()) as { paths: Record<string, Record<string, unknown>> }
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  )
  const receiver = await startOtlpReceiver()
  fakes = {
    openai: await startLeakyUpstream('openai'),
    anthropic: await startLeakyUpstream('anthropic'),
    gemini: await startLeakyUpstream('gemini'),
    azure: await startLeakyUpstream('azure'),
    ollama: await startLeakyUpstream('openai'),
    byok: await startLeakyUpstream('openai'),
  }
  const dir = mkdtempSync(join(tmpdir(), 'anygate-secrets-'))
  configPath = join(dir, 'anygate.yaml')
  usagePath = join(dir, 'usage.jsonl')
  writeFileSync(configPath, JSON.stringify(gatewayConfig(fakes, receiver.origin, usagePath)))
  const captured = captureLogs('debug')
  rawLogs = captured.rawLogs
  const load = () => loadConfigFile(configPath, {})
  app = await buildApp(load(), { logger: captured.logger, reload: { path: configPath, load } })
  try {
    await app.ready()
    await driveInference()
    await driveClientKeys()
    await driveAuthErrors()
    await driveAdmin()
    await driveAdminWithVirtualKeys()
    await driveReload()
    await driveOperatorRoutes()
  } finally {
    // Closing flushes the usage log and the last span batch.
    await app.close()
    otlpBodies = receiver.bodies
    await receiver.close()
  }
  usageLog = readFileSync(usagePath, 'utf8')
}, 120_000)

afterAll(closeSuiteResources)

const routeOf = (url: string, method: string) =>
  operations.find((op) => {
    if (op.method !== method) return false
    const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/?]+')}(?:\\?.*)?$`)
    return pattern.test(url)
  })

describe('secrets never leak', () => {
  it('drove every route of the OpenAPI document, each path answering as scripted', () => {
    // Reached past auth: answered as scripted, and neither 401 nor 403.
    const reached = (e: Exchange) => e.expected.includes(e.status) && e.status !== 401 && e.status !== 403
    const missed = operations.filter(
      (op) => !exchanges.some((e) => reached(e) && routeOf(e.url, e.method) === op),
    )
    expect(missed).toEqual([])
    const unexpected = exchanges
      .filter((e) => !e.expected.includes(e.status))
      .map((e) => `${e.label}: ${e.status}, expected ${e.expected.join('|')}: ${e.text.slice(-300)}`)
    expect(unexpected, unexpected.join('\n')).toEqual([])
  })

  it('had keys to scrub: every fake echoed the keys it received', () => {
    expect([...fakes.openai.echoed]).toEqual(
      expect.arrayContaining([secrets.openai, secrets.headerKey, secrets.reloadKey]),
    )
    expect([...fakes.anthropic.echoed]).toContain(secrets.anthropic)
    expect([...fakes.gemini.echoed]).toContain(secrets.gemini)
    expect([...fakes.azure.echoed]).toContain(secrets.azure)
    expect([...fakes.ollama.echoed]).toContain(secrets.ollama)
    expect([...fakes.byok.echoed]).toEqual(expect.arrayContaining([secrets.client, secrets.byokOperator]))
    // ...and the answers kept the upstream's message, with the key cut out of it.
    const echoes = exchanges.filter((e) =>
      /(401|prefix|500|mid-stream) echo|mid-stream error echo/.test(e.label),
    )
    expect(echoes.length).toBeGreaterThan(40)
    for (const echo of echoes) expect(echo.text, echo.label).toContain('[redacted]')
  })

  it('no response body or header holds a secret, but the one issuing it', () => {
    for (const exchange of exchanges) {
      expectNoSecrets(
        `${exchange.label} (${exchange.status})`,
        exchange.text,
        exchange.allowed ? [exchange.allowed] : [],
      )
    }
    expect(exchanges.filter((e) => e.allowed).map((e) => e.text.includes(e.allowed!))).toEqual([
      true,
      true,
      true,
    ])
  })

  it('no raw log line holds a secret', () => {
    expect(rawLogs.length).toBeGreaterThan(100)
    expect(rawLogs.some((line) => line.includes('"level":20'))).toBe(true)
    expectNoSecrets('the logs', rawLogs.join(''))
  })

  it('the usage log with bodies holds none', () => {
    const records = usageLog.split('\n').filter(Boolean)
    expect(records.length).toBeGreaterThan(50)
    expect(records.filter((line) => line.includes('"response"')).length).toBeGreaterThan(50)
    expectNoSecrets('the usage log', usageLog)
  })

  it('no exported span holds one', () => {
    expect(otlpBodies.length).toBeGreaterThan(0)
    expect(otlpBodies.join('')).toContain('gen_ai.request.model')
    expectNoSecrets('the OTLP exports', otlpBodies.join('\n'))
  })

  it('GET /metrics holds none', () => {
    expect(metricsText).toContain('anygate_requests_total')
    expectNoSecrets('/metrics', metricsText)
  })

  it('admin routes refuse virtual keys with 403 admin_only, every one of them', () => {
    const admin = operations.filter((o) => o.path.startsWith('/admin'))
    expect(admin.length).toBeGreaterThan(5)
    expect(adminWithVirtualKey).toHaveLength(admin.length * 2)
    for (const seen of adminWithVirtualKey)
      expect(seen, seen.op).toMatchObject({ status: 403, code: 'admin_only' })
  })
})

describe('scrubbing upstream error messages', () => {
  const key = 'sk-proj-0123456789abcdefghijklmnop'

  it('cuts the key whole, and any 12 characters of it, keeping the rest of the message', () => {
    expect(scrub(`Incorrect API key provided: ${key}.`, [key])).toBe(
      'Incorrect API key provided: [redacted].',
    )
    expect(scrub(`key ${key.slice(0, 16)}****`, [key])).toBe('key [redacted]****')
    expect(scrub(`key ****${key.slice(-12)} and ${key.slice(5, 20)}`, [key])).toBe(
      'key ****[redacted] and [redacted]',
    )
    // 11 characters of a long key identify nothing; a short secret goes only when whole.
    expect(scrub(`tail ${key.slice(-11)}`, [key])).toBe(`tail ${key.slice(-11)}`)
    expect(scrub('short secret12, secret1', ['secret12'])).toBe('short [redacted], secret1')
    expect(scrub('nothing to see', [key, 'tiny'])).toBe('nothing to see')
  })

  it("counts credentials in a provider's extra headers as its secrets, word by word", () => {
    const secretsOf = configuredSecrets({
      api_key: 'sk-configured-0123456789',
      headers: {
        'cf-aig-authorization': 'Bearer proxy-token-0123456789',
        'x-api-key': 'header-key-0123456789',
        'x-org': 'platform-team-name',
        'anthropic-beta': 'prompt-caching-2024-07-31',
      },
    })
    expect(secretsOf).toEqual(['sk-configured-0123456789', 'proxy-token-0123456789', 'header-key-0123456789'])
  })
})
