// GET /ui: the operator dashboard, plain HTML and ES modules from routes/ui/public/ with no build step.
// The files hold no data, so they are served to anyone; every figure on the page comes from calls
// the browser makes with the master key (/metrics, /admin/*, and /ui/settings below).
//
// tsc compiles only .ts into dist/, so the assets stay in the source tree: from dist/routes/ui.js the
// folder is found by walking up to the package root (as config/load.ts finds config/anygate.yaml).
import { existsSync } from 'node:fs'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { MetricsSettings } from '../plugins/metrics/config-schema.js'
import { ErrorResponse } from '../schemas/openai/errors.js'

/** Without the trailing slash: @fastify/static then also answers /ui, with a redirect to /ui/. */
export const uiPrefix = '/ui'

const assetsPath = join('ui', 'public')

/**
 * routes/ui/public, looked for beside the running file (source: routes/ui.ts) and then under each
 * parent's routes/ (dist/routes/ui.js -> <package>/routes/ui/public); null when it is nowhere.
 */
export function findUiAssets(fromDir: string): string | null {
  const beside = join(fromDir, assetsPath)
  if (existsSync(join(beside, 'index.html'))) return beside
  let dir = dirname(fromDir)
  for (let i = 0; i < 3; i++) {
    const candidate = join(dir, 'routes', assetsPath)
    if (existsSync(join(candidate, 'index.html'))) return candidate
    dir = dirname(dir)
  }
  return null
}

// Only what the page loads: the folder also holds .d.ts files that type its modules for the tests.
const servedExtensions = new Set(['.html', '.js', '.css', '.svg'])

// The master key sits in sessionStorage, readable by any script on this origin: only the page's own
// files may run, and nothing is framed, inlined or sent elsewhere.
const securityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

const UiSettings = Type.Object({
  metrics: Type.Object({
    enabled: Type.Boolean(),
    path: Type.String(),
    auth: Type.Union([Type.Literal('none'), Type.Literal('master')]),
  }),
  docs_path: Type.String(),
})

export interface UiRoutesOptions {
  metrics: MetricsSettings
  /** Where index.html and the modules are; default: found from this file. */
  root?: string
}

export const uiRoutes: FastifyPluginAsyncTypebox<UiRoutesOptions> = async (app, opts) => {
  const root = opts.root ?? findUiAssets(dirname(fileURLToPath(import.meta.url)))
  if (root === null) {
    // A broken image (assets not copied next to dist/) should say so, not 404 silently.
    app.log.warn('dashboard assets (routes/ui/public) not found: GET /ui is not served')
    return
  }

  // Encapsulated: these headers go on the dashboard's answers only.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(securityHeaders)
    return payload
  })

  await app.register(fastifyStatic, {
    root,
    prefix: uiPrefix,
    redirect: true, // /ui -> /ui/, so the page's relative module URLs resolve under /ui/
    index: 'index.html',
    decorateReply: false, // @fastify/swagger-ui registers its own instance
    serveDotFiles: false,
    // No-cache with ETags: an upgraded gateway's page is never mixed with stale modules.
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    allowedPath: (pathName) => pathName.endsWith('/') || servedExtensions.has(extname(pathName)),
  })

  // What the page needs to know of the config; with the master key, so it also checks the login.
  app.get(
    '/ui/settings',
    {
      config: { auth: 'master' },
      schema: {
        // The page's own endpoint, not part of the API: kept out of the OpenAPI document.
        hide: true,
        response: { 200: UiSettings, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store')
      const { enabled, path, auth } = opts.metrics
      return { metrics: { enabled, path, auth }, docs_path: '/docs' }
    },
  )
}

export default uiRoutes
