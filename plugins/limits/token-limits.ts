// Token limits (tpm) per key and per model, registered after the cache: a cache hit never gets
// here. The take runs alongside the budget's reservation (one store round trip for both). Before the
// call the estimate is reserved (prompt, plus max_tokens/max_completion_tokens when the request
// bounds its answer; plugins/tokens/estimate.ts); once the response is over the reservation is
// corrected to the usage the provider reported, or given back when the call failed. A call served
// without reported usage keeps its reservation: the tokens were spent, their number is unknown.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config/schema.js'
import { routeConfigOf } from '../route-config.js'
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
import type { LimitWindows, TakeResult, WindowCharge } from './windows.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when token limits can apply: limits.models.*.tpm is set, or keys can exist. */
    tokenLimits?: { windows: LimitWindows }
  }
  interface FastifyRequest {
    /**
     * The tpm take: its refusal, or null once the tokens are reserved (or when none were asked); a
     * promise of either while a store with I/O answers.
     */
    tokenReservation: Promise<Error | null> | Error | null
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
    app.decorateRequest('tokenReservation', null)

    /** Reads the take of the estimate from every tpm window: the 429 when one refused, else null. */
    function reserved(
      request: FastifyRequest,
      reply: FastifyReply,
      taken: TakeResult,
      charges: WindowCharge[],
      scopes: LimitScope[],
      amount: number,
    ): Error | null {
      if (taken.degraded) return taken.admitted ? null : limitsUnavailable()
      const { readings, refusal } = readTake(taken, charges, scopes, 'tokens')
      if (refusal) {
        setLimitHeaders(reply, 'tokens', { limit: refusal.limit, remaining: 0, resetMs: refusal.resetMs })
        return limitExceeded(refusal)
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
      // A request the budget refused while this take was in flight may be over already.
      if (reply.raw.destroyed) settle()
      else reply.raw.once('close', settle)
      return null
    }

    // The take starts here and is awaited in a route-level preHandler, which runs after the
    // budget's (plugins/spend): both reservations share one store round trip. Whichever refuses
    // first answers; the other's reservation is given back once that response is over (tpm: the
    // settle above with a 4xx status; budget: its settlement at cost 0).
    app.addHook('preHandler', (request, reply, done) => {
      const kind = routeConfigOf(request).inference
      if (kind === undefined) return done()
      const principal = request.principal
      const model = requestedModel(request.body)
      if (model === undefined) return done()
      const modelLimit = modelTpm.get(model)
      if (principal?.tpm === undefined && modelLimit === undefined) return done()
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
      if (tooLarge !== -1) return done(requestTooLarge(scopes[tooLarge]!, charges[tooLarge]!.limit, amount))
      request.tokenReservation = windows.takeNow
        ? reserved(request, reply, windows.takeNow(charges), charges, scopes, amount)
        : // Never rejects: nobody awaits it when an earlier refusal ends the request first.
          windows.take(charges).then(
            (taken) => reserved(request, reply, taken, charges, scopes, amount),
            (err: Error) => err,
          )
      done()
    })

    const awaitReservation = (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      const reservation = request.tokenReservation
      if (reservation === null) return done()
      if (reservation instanceof Promise) reservation.then((err) => (err ? done(err) : done()))
      else done(reservation)
    }
    app.addHook('onRoute', (route) => {
      if (!route.config?.inference) return
      const existing = route.preHandler
      route.preHandler =
        existing === undefined ? [awaitReservation] : [...[existing].flat(), awaitReservation]
    })
  },
  {
    name: 'anygate-token-limits',
    fastify: '5.x',
    dependencies: ['anygate-store', 'anygate-auth'],
  },
)
