// The spend plugin's per-call hooks, apart from its wiring:
// - preHandler: a key with a budget reserves what the call may cost, or is refused;
// - onResponse (for a stream, after its last byte): request.gateway.costUsd is set synchronously,
//   before anything is awaited, so a later onResponse hook (metrics) reads it; then the spend
//   record and the budget settlement start in the background.
// Fastify runs no onResponse for a client that hung up mid-stream, so for streams and budgeted calls
// the socket's close does the same accounting when the response never finished; a flag keeps it
// to once per request whichever comes first.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { GatewayContext, InferenceKind } from '../call-record.js'
import { ClientAbortError } from '../gateway-error.js'
import type { ModelPrice } from '../pricing/table.js'
import { routeConfigOf } from '../route-config.js'
import { estimateRequestTokens } from '../tokens/request-estimate.js'
import type { BudgetHold, Budgets } from './budgets.js'
import { estimateCallNanos, servedCallNanos } from './call-cost.js'
import { nanosToUsd } from './money.js'
import type { SpendRecorder } from './recorder.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The call's budget reservation, settled when the call is over; null for a caller without a budget. */
    budgetHold: BudgetHold | null
    /** The call was accounted for (cost, spend record, settlement). */
    spendAccounted: boolean
  }
}

export interface CallHooksOptions {
  budgets: Budgets
  recorder: SpendRecorder
  /** The price of the target that served a call. */
  priceServed: (gateway: GatewayContext) => ModelPrice | undefined
  /** The prices of every target that may serve a model. */
  pricesOfModel: (model: string) => readonly (ModelPrice | undefined)[]
  defaultOutputTokens: number
  /** Settlements in flight, for flush and close. */
  settlements: Set<Promise<void>>
}

export function createCallHooks(options: CallHooksOptions) {
  const { budgets, recorder } = options

  function account(request: FastifyRequest, statusCode: number): void {
    if (request.spendAccounted) return
    request.spendAccounted = true
    const gateway = request.gateway
    const hold = request.budgetHold
    if (gateway === null && hold === null) return
    const served = gateway !== null && statusCode < 400
    let cost: number | undefined
    if (gateway !== null) {
      cost = servedCallNanos(gateway, options.priceServed(gateway))
      gateway.costUsd = cost === undefined ? undefined : nanosToUsd(cost)
    }
    if (served) {
      const principal = request.principal
      const hit = gateway.cache === 'HIT'
      recorder.record({
        keyId: principal?.id ?? 'anonymous',
        keyName: principal?.name ?? 'anonymous',
        model: gateway.model,
        requests: 1,
        // A hit consumed no upstream tokens: the report counts what was paid for.
        promptTokens: hit ? 0 : (gateway.usage?.prompt ?? 0),
        completionTokens: hit ? 0 : (gateway.usage?.completion ?? 0),
        costNanos: cost ?? 0,
      })
    }
    if (hold !== null) {
      // A served call whose usage never came (a stream cut before its usage chunk) is charged what it
      // reserved, so cutting streams can't dodge a budget; a call that failed is charged nothing.
      const charge = cost ?? (served && gateway.cache !== 'HIT' && !gateway.usage ? hold.amountNanos : 0)
      const settlement = budgets.settle(hold, charge)
      if (settlement) {
        options.settlements.add(settlement)
        void settlement.finally(() => options.settlements.delete(settlement))
      }
    }
  }

  function accountIfAborted(request: FastifyRequest, reply: FastifyReply): void {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) account(request, reply.statusCode)
    })
  }

  // Callback style, and a promise only for a budget kept in a store that needs I/O.
  function preHandler(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const body = request.body as { model?: unknown; stream?: unknown } | undefined
    const principal = request.principal
    if (!principal?.budget) {
      if (body?.stream === true) accountIfAborted(request, reply)
      done()
      return
    }
    const kind = routeConfigOf(request).inference as InferenceKind
    const model = typeof body?.model === 'string' ? body.model : ''
    const amount = estimateCallNanos(
      kind,
      estimateRequestTokens(request, model),
      options.pricesOfModel(model),
      options.defaultOutputTokens,
    )
    let reserved: BudgetHold | Promise<BudgetHold>
    try {
      reserved = budgets.reserve(principal, amount)
    } catch (err) {
      done(err as Error)
      return
    }
    if (reserved instanceof Promise) reserved.then((hold) => holdTaken(request, reply, hold, done), done)
    else holdTaken(request, reply, reserved, done)
  }

  function holdTaken(
    request: FastifyRequest,
    reply: FastifyReply,
    hold: BudgetHold,
    done: HookHandlerDoneFunction,
  ): void {
    request.budgetHold = hold
    if (reply.raw.closed) {
      // The client left while the budget was checked: release the hold and call nobody.
      account(request, reply.statusCode)
      done(new ClientAbortError())
      return
    }
    accountIfAborted(request, reply)
    done()
  }

  function onResponse(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    account(request, reply.statusCode)
    done()
  }

  return { preHandler, onResponse }
}
