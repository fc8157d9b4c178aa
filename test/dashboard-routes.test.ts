// How the gateway serves the dashboard (routes/ui.ts): the page is public and locked down by its
// headers, its one JSON endpoint needs the master key, nothing outside the asset folder is served,
// and the folder is found from dist/ as well as from the sources.
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findUiAssets } from '../routes/ui.js'
import { buildTestApp } from './helpers/app.js'

const masterKey = 'master-key-ROUTES-0000-aaaa'
const virtualKey = 'sk-virtual-ROUTES-1111-bbbb'
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

const withKeys = {
  auth: { master_key: masterKey, keys: [{ name: 'viewer', key: virtualKey }] },
  providers: { mock: { type: 'mock' } },
  models: [],
}

describe('GET /ui', () => {
  it('redirects /ui to /ui/ and serves the page and its modules with a strict policy', async () => {
    const { app } = await buildTestApp(withKeys)
    const redirect = await app.inject({ url: '/ui' })
    expect(redirect.statusCode).toBe(301)
    expect(redirect.headers.location).toBe('/ui/')

    const page = await app.inject({ url: '/ui/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('<script type="module" src="app.js"></script>')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    expect(page.headers['cache-control']).toBe('no-cache')

    for (const [file, type] of [
      ['app.js', 'application/javascript; charset=utf-8'],
      ['prometheus.js', 'application/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ]) {
      const asset = await app.inject({ url: `/ui/${file}` })
      expect(asset.statusCode, file).toBe(200)
      expect(asset.headers['content-type'], file).toBe(type)
    }
  })

  it('serves nothing else: no type files, no paths out of the folder, in the OpenAI error shape', async () => {
    const { app } = await buildTestApp(withKeys)
    for (const url of [
      '/ui/prometheus.d.ts',
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/nope.js',
    ]) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(Object.keys(res.json().error).sort(), url).toEqual(['code', 'message', 'param', 'type'])
    }
  })

  it('answers /ui/settings to the master key only', async () => {
    const { app } = await buildTestApp({ ...withKeys, metrics: { path: '/prom', auth: 'master' } })
    expect((await app.inject({ url: '/ui/settings' })).statusCode).toBe(401)
    expect(
      (await app.inject({ url: '/ui/settings', headers: bearer('sk-wrong-key-0000000000') })).statusCode,
    ).toBe(401)
    const virtual = await app.inject({ url: '/ui/settings', headers: bearer(virtualKey) })
    expect(virtual.statusCode).toBe(403)
    expect(virtual.json().error.message).not.toContain(virtualKey)

    const settings = await app.inject({ url: '/ui/settings', headers: bearer(masterKey) })
    expect(settings.statusCode).toBe(200)
    expect(settings.headers['cache-control']).toBe('no-store')
    expect(settings.json()).toEqual({
      metrics: { enabled: true, path: '/prom', auth: 'master' },
      docs_path: '/docs',
    })
  })

  it('refuses the data when no master key is configured, and says metrics are off when they are', async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' } },
      models: [],
      metrics: { enabled: false },
    })
    expect((await app.inject({ url: '/ui/' })).statusCode).toBe(200)
    const res = await app.inject({ url: '/ui/settings', headers: bearer('anything-at-all-000000') })
    expect(res.statusCode).toBe(403)

    const { app: keyed } = await buildTestApp({ ...withKeys, metrics: { enabled: false } })
    const settings = await keyed.inject({ url: '/ui/settings', headers: bearer(masterKey) })
    expect(settings.json().metrics.enabled).toBe(false)
  })

  it('keeps the dashboard out of the OpenAPI document', async () => {
    const { app } = await buildTestApp(withKeys)
    const paths = Object.keys((await app.inject({ url: '/openapi.json' })).json().paths)
    expect(paths.length).toBeGreaterThan(0)
    expect(paths.filter((path) => path.startsWith('/ui'))).toEqual([])
  })
})

describe('findUiAssets', () => {
  const repo = resolve(import.meta.dirname, '..')
  const assets = join(repo, 'routes', 'ui', 'public')

  it('finds routes/ui/public from the sources and from the compiled dist/routes', () => {
    expect(findUiAssets(join(repo, 'routes'))).toBe(assets)
    expect(findUiAssets(join(repo, 'dist', 'routes'))).toBe(assets)
  })

  it('is null where no copy exists', () => {
    expect(findUiAssets('/nonexistent/dist/routes')).toBeNull()
  })
})
