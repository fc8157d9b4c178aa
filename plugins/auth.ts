// Bearer auth for /v1 and /admin, chosen per route through `config.auth`.
// Accepts `Authorization: Bearer <key>` (OpenAI clients) and `x-api-key` (Anthropic clients).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { unauthorized } from './gateway-error.js'
import { anonymousPrincipal, masterPrincipal } from './principal.js'

export type AuthLevel = 'none' | 'api' | 'master'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header)
    return match ? match[1]!.trim() : undefined
  }
  const apiKey = request.headers['x-api-key']
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined
}

export default fp(
  async (app, opts: { masterKey?: string }) => {
    app.decorateRequest('principal', null)
    if (!opts.masterKey) {
      // No auth configured: every caller is the same anonymous one (limits and spend still apply).
      app.addHook('onRequest', (request, _reply, done) => {
        if ((request.routeOptions.config.auth ?? 'none') !== 'none') request.principal = anonymousPrincipal
        done()
      })
      return
    }
    // Comparing fixed-length digests keeps the check constant-time whatever the key's length.
    const expected = digest(opts.masterKey)
    app.addHook('onRequest', async (request) => {
      const level = request.routeOptions.config.auth ?? 'none'
      if (level === 'none') return
      const key = presentedKey(request)
      if (key === undefined) {
        throw unauthorized(
          "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or the x-api-key header).",
        )
      }
      if (!timingSafeEqual(digest(key), expected)) {
        throw unauthorized('Incorrect API key provided. Use the gateway key your operator gave you.')
      }
      request.principal = masterPrincipal
    })
  },
  { name: 'anygate-auth', fastify: '5.x' },
)
