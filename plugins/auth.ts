// Who is calling, for /v1 and /admin, chosen per route through `config.auth`: the master key, a
// virtual key (config-declared or stored, see plugins/keys/), or nobody when no auth is configured.
// Accepts `Authorization: Bearer <key>` (OpenAI clients) and `x-api-key` (Anthropic clients).
//
// - No master key and no auth.keys: /v1 is open (every caller is the anonymous principal) and
//   /admin answers 403. Keys created through the admin API can only exist once a master key was
//   set; removing it (and auth.keys) again turns auth off, stored keys or not.
// - Otherwise /v1 needs a valid key: 401 for a missing, unknown, expired or disabled one.
// - /admin needs the master key: 403 for a valid virtual key, and 403 for everyone when no master
//   key is configured, even with auth otherwise off (an open admin API would let anyone mint keys).
// - Inference routes (config.inference) then check the principal's `models` globs: 403.
import { hash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError } from '../config/load.js'
import { findAuthProblems } from './keys/config-checks.js'
import type { AuthSettings } from './keys/config-schema.js'
import { adminDisabled, adminOnly, missingKey, modelNotAllowed } from './keys/errors.js'
import keysPlugin from './keys/index.js'
import { allowsModel, directNameOf, isKnownModel } from './keys/model-access.js'
import { anonymousPrincipal, masterPrincipal, type Principal } from './principal.js'
import { routeConfigOf } from './route-config.js'

export type AuthLevel = 'none' | 'api' | 'master'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel
  }
}

export interface AuthPluginOptions {
  settings: AuthSettings
  /** Wall-clock milliseconds for key expiry; tests inject it. */
  now?: () => number
}

// SHA-256 serves twice: comparing fixed-length digests keeps the master-key check constant-time
// whatever the key's length, and the same digest is the virtual-key lookup hash. The one-shot hash
// to hex costs under half of createHash().update().digest() and its later toString('hex').
const digestHex = (value: string) => hash('sha256', value)

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header)
    return match ? match[1]!.trim() : undefined
  }
  const apiKey = request.headers['x-api-key']
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined
}

const refuseVirtualAtAdmin = (principal: Principal): Principal => {
  if (principal.kind !== 'master') throw adminOnly()
  return principal
}

export default fp(
  async (app, opts: AuthPluginOptions) => {
    const problems = findAuthProblems(opts.settings)
    if (problems.length > 0) throw new ConfigError(problems)
    app.decorateRequest('principal', null)
    await app.register(keysPlugin, { settings: opts.settings, now: opts.now })
    const keys = app.keys
    const masterKey = opts.settings.master_key || undefined

    if (!masterKey && !keys.hasConfigKeys) {
      app.addHook('onRequest', (request, _reply, done) => {
        const level = routeConfigOf(request).auth ?? 'none'
        if (level === 'api') request.principal = anonymousPrincipal
        else if (level === 'master') return done(adminDisabled())
        done()
      })
      return
    }

    const masterDigest = masterKey ? Buffer.from(digestHex(masterKey), 'hex') : undefined
    const authenticate = (request: FastifyRequest, level: AuthLevel): Principal | Promise<Principal> => {
      if (level === 'master' && !masterDigest) throw adminDisabled()
      const key = presentedKey(request)
      if (key === undefined) throw missingKey()
      const hashed = digestHex(key)
      if (masterDigest && timingSafeEqual(Buffer.from(hashed, 'hex'), masterDigest)) return masterPrincipal
      const principal = keys.verify(hashed)
      if (level !== 'master') return principal
      // A valid virtual key at the admin API is a 403; an invalid one stays a 401.
      return principal instanceof Promise
        ? principal.then(refuseVirtualAtAdmin)
        : refuseVirtualAtAdmin(principal)
    }

    // Callback-style: every /v1 call runs this, and a config or remembered key answers synchronously.
    app.addHook('onRequest', (request, _reply, done) => {
      const level = routeConfigOf(request).auth ?? 'none'
      if (level === 'none') return done()
      let result: Principal | Promise<Principal>
      try {
        result = authenticate(request, level)
      } catch (err) {
        return done(err as Error)
      }
      if (result instanceof Promise) {
        result.then((principal) => {
          request.principal = principal
          done()
        }, done)
        return
      }
      request.principal = result
      done()
    })

    // An app-level preHandler (it needs the parsed body) registered before the limit, cache and spend
    // plugins, so a refused model costs no rate-limit slot or budget reservation.
    const directName = (model: string) => directNameOf(app.models, model)
    app.addHook('preHandler', (request, _reply, done) => {
      const principal = request.principal
      if (principal?.models === undefined || !routeConfigOf(request).inference) return done()
      const model = (request.body as { model?: unknown } | undefined)?.model
      if (typeof model !== 'string' || allowsModel(principal, model, directName)) return done()
      if (!isKnownModel(app.models, model)) return done()
      done(modelNotAllowed(model, principal.name))
    })
  },
  { name: 'anygate-auth', fastify: '5.x', dependencies: ['anygate-store'] },
)
