// Token limits (tpm) per key and per model, registered after the cache and the spend plugin: a cache
// hit never gets here and a call over budget is refused before it reserves anything. Before the
// call the estimate is reserved (prompt, plus max_tokens/max_completion_tokens when the request
// bounds its answer; plugins/tokens/estimate.ts); once the response is over the reservation is
// corrected to the usage the provider reported, or given back when the call failed. A call served
// without reported usage keeps its reservation: the tokens were spent, their number is unknown.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config/schema.js'
import type { Principal } from '../principal.js'
import { estimateRequestTokens } from '../tokens/request-estimate.js'
import { keysMayExist, modelLimitsTable, requestedModel } from './applicable.js'
import {
  type LimitScope,
  limitExceeded,
  limitsUnavailable,
  readTake,
  requestTooLarge,
  setLimitHeaders,
  tightest,
} from './responses.js'
import { limitWindowsFor } from './stores.js'
import type { LimitWindows, WindowCharge } from './windows.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when token limits can apply: limits.models.*.tpm is set, or keys can exist. */
    tokenLimits?: { windows: LimitWindows }
  }
}

export interface TokenLimitsPluginOptions {
  /** limits:, auth: (keys carry tpm) and models: (a public model is estimated with its first target's tokenizer). */
  config: Pick<Config, 'limits' | 'auth' | 'models'>
  /** Milliseconds since the epoch; tests move it by hand. */
  now?: () => number
}

export default fp(
  async (app, opts: TokenLimitsPluginOptions) => {
    const { limits, auth } = opts.config
    const modelTpm = modelLimitsTable(limits, 'tpm')
    if (!keysMayExist(auth) && modelTpm.size === 0) return

    const windows = limitWindowsFor(app, 'token-limits', opts.now ?? Date.now)
    app.decorate('tokenLimits', { windows })

    async function reserve(
      request: FastifyRequest,
      reply: FastifyReply,
      principal: Principal | null,
      model: string,
      modelLimit: number | undefined,
    ): Promise<void> {
      const estimate = estimateRequestTokens(request, model)
      const amount = estimate.prompt + (estimate.maxOutput ?? 0)
      const charges: WindowCharge[] = []
      const scopes: LimitScope[] = []
      if (principal?.tpm !== undefined) {
        charges.push({ key: `tpm:key:${principal.id}`, limit: principal.tpm, amount })
        scopes.push({ kind: 'key', name: principal.name })
      }
      if (modelLimit !== undefined) {
        charges.push({ key: `tpm:model:${model}`, limit: modelLimit, amount })
        scopes.push({ kind: 'model', name: model })
      }
      const tooLarge = charges.findIndex((charge) => charge.amount > charge.limit)
      if (tooLarge !== -1) throw requestTooLarge(scopes[tooLarge]!, charges[tooLarge]!.limit, amount)

      const taken = await windows.take(charges)
      if (taken.degraded) {
        if (!taken.admitted) throw limitsUnavailable()
        return
      }
      const { readings, refusal } = readTake(taken, charges, scopes, 'tokens')
      if (refusal) {
        setLimitHeaders(reply, 'tokens', { limit: refusal.limit, remaining: 0, resetMs: refusal.resetMs })
        throw limitExceeded(refusal)
      }
      const reading = tightest(readings)
      if (reading) setLimitHeaders(reply, 'tokens', reading)

      const settle = () => {
        const usage = request.gateway?.usage
        let used: number
        if (usage) used = usage.prompt + usage.completion
        else if (reply.statusCode >= 400) used = 0
        else return
        for (const charge of charges) void windows.adjust(charge.key, taken.minute, used - amount)
      }
      // 'close', not onResponse: it also fires when the client cuts the response (see index.ts).
      if (reply.raw.destroyed) settle()
      else reply.raw.once('close', settle)
    }

    app.addHook('preHandler', (request, reply, done) => {
      const kind = request.routeOptions.config.inference
      if (kind === undefined) return done()
      const principal = request.principal
      const model = requestedModel(request.body)
      if (model === undefined) return done()
      const modelLimit = modelTpm.get(model)
      if (principal?.tpm === undefined && modelLimit === undefined) return done()
      reserve(request, reply, principal, model, modelLimit).then(
        () => done(),
        (err: Error) => done(err),
      )
    })
  },
  {
    name: 'anygate-token-limits',
    fastify: '5.x',
    dependencies: ['anygate-store', 'anygate-auth'],
  },
)
