// CORS as a browser and as a plain HTTP client see it, over a real socket: browsers (which always
// send Origin) get the origin decision and the exposed headers; other clients get only Vary.
import { describe, expect, it } from 'vitest'
import { exposedHeaders } from '../plugins/cors.js'
import { chatBody, listenTestApp } from './helpers/app.js'

const config = (corsOrigins?: string[]) => ({
  providers: { mock: { type: 'mock' } },
  models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
  ...(corsOrigins ? { server: { cors_origins: corsOrigins } } : {}),
})

const chat = (origin: string, headers: Record<string, string> = {}) =>
  fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chatBody('echo')),
  })

const preflight = (origin: string, headers: Record<string, string>) =>
  fetch(`${origin}/v1/chat/completions`, { method: 'OPTIONS', headers })

const varyOf = (res: Response) => (res.headers.get('vary') ?? '').toLowerCase().split(/,\s*/)

describe('CORS with the default cors_origins ["*"]', () => {
  it('reflects a browser origin and exposes the gateway headers', async () => {
    const { origin } = await listenTestApp(config())
    const res = await chat(origin, { origin: 'https://app.example' })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(res.headers.get('access-control-expose-headers')?.split(', ')).toEqual(exposedHeaders)
    expect(varyOf(res)).toContain('origin')
  })

  it('adds only Vary: Origin for a client that sends no Origin', async () => {
    const { origin } = await listenTestApp(config())
    const res = await chat(origin)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('access-control-expose-headers')).toBeNull()
    expect(varyOf(res)).toContain('origin')
    expect(res.headers.get('x-request-id')).toBeTruthy()
  })

  it('answers a browser preflight before auth, with the methods and requested headers', async () => {
    const { origin } = await listenTestApp({ ...config(), auth: { master_key: 'sk-master-cors-test' } })
    const res = await preflight(origin, {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
  })
})

describe('OPTIONS without an Origin', () => {
  it('is not a preflight: no CORS headers, and the 404 in the OpenAI error shape', async () => {
    const { origin } = await listenTestApp(config())
    const res = await preflight(origin, { 'access-control-request-method': 'POST' })
    expect(res.status).toBe(404)
    expect(res.headers.get('access-control-allow-methods')).toBeNull()
    expect(((await res.json()) as { error: { type: string } }).error.type).toBeTruthy()
  })
})

describe('CORS with a list of origins', () => {
  it('allows a listed origin and leaves another without access', async () => {
    const { origin } = await listenTestApp(config(['https://app.example']))
    const listed = await chat(origin, { origin: 'https://app.example' })
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const other = await chat(origin, { origin: 'https://evil.example' })
    // The request itself is served (CORS is the browser's check), but nothing grants it access.
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(varyOf(other)).toContain('origin')
  })
})

describe('CORS turned off', () => {
  it('cors_origins [] adds no CORS headers and answers no preflight', async () => {
    const { origin } = await listenTestApp(config([]))
    const res = await chat(origin, { origin: 'https://app.example' })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('vary')).toBeNull()
    const pre = await preflight(origin, {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
    })
    expect(pre.status).toBe(404)
    expect(((await pre.json()) as { error: { type: string } }).error.type).toBeTruthy()
  })
})
