// Key budgets: before a call, reserve what it may cost (refusing it when that does not fit in the
// period's budget); after it, release the reservation and add what it did cost. See budget-store.ts
// for why concurrent calls overshoot only by their estimates' error.
import { randomUUID } from 'node:crypto'
import { GatewayError } from '../gateway-error.js'
import type { Principal } from '../principal.js'
import type { RedisGuard } from '../store/redis-guard.js'
import type { AlertNotifier, AlertScope } from './alerts.js'
import type { BudgetState, BudgetStore, ReserveOutcome } from './budget-store.js'
import { formatUsd, nanosToUsd, usdToNanos } from './money.js'
import { type BudgetWindow, budgetWindow, dayMs } from './periods.js'
import { type BackgroundLogger, errorText, withRetries } from './retry.js'

/** A call's reservation, kept on the request until onResponse settles it. */
export interface BudgetHold extends AlertScope {
  /** null: nothing was reserved (the store was unavailable and store.on_error is allow). */
  holdId: string | null
  amountNanos: number
  /** When the scope's counters may be dropped; null for a total budget. */
  keyExpiresAt: number | null
}

export interface BudgetStatus {
  period: BudgetWindow['period']
  budget_usd: number
  spent_usd: number
  reserved_usd: number
  resets_at: string | null
}

export interface BudgetsOptions {
  store: BudgetStore
  guard: RedisGuard
  now: () => number
  log: Pick<BackgroundLogger, 'error'>
  reservationTtlMs: number
  alerts?: AlertNotifier
  retryDelaysMs?: readonly number[]
}

const storeUnavailable = () =>
  new GatewayError(
    503,
    'The budget store is unavailable, and this gateway refuses calls it cannot account for (store.on_error: deny). Try again shortly.',
    'service_unavailable',
    'store_unavailable',
  )

export function budgetExceeded(
  principal: Pick<Principal, 'name'>,
  window: BudgetWindow,
  state: BudgetState,
  amountNanos: number,
  limitNanos: number,
  now: number,
): GatewayError {
  const reserved =
    state.reservedNanos > 0 ? ` and ${formatUsd(state.reservedNanos)} is reserved by calls in progress` : ''
  const reset =
    window.resetsAt === null
      ? 'It is a total budget and does not reset: ask the gateway operator to raise it.'
      : `The budget resets at ${new Date(window.resetsAt).toISOString()}.`
  const headers: Record<string, string> = { 'x-should-retry': 'false' }
  if (window.resetsAt !== null) headers['retry-after'] = String(Math.ceil((window.resetsAt - now) / 1000))
  return new GatewayError(
    429,
    `Budget exceeded for key "${principal.name}": ${formatUsd(state.spentNanos)} of its ${formatUsd(limitNanos)} ${window.period} budget is spent${reserved}, and this call may cost up to ${formatUsd(amountNanos)}. ${reset}`,
    'insufficient_quota',
    'budget_exceeded',
    null,
    headers,
  )
}

export class Budgets {
  readonly #options: BudgetsOptions
  // Hold ids must be unique among a scope's holds across replicas: one UUID per process and a
  // counter cost less than a UUID per call.
  readonly #process = randomUUID()
  #sequence = 0

  constructor(options: BudgetsOptions) {
    this.#options = options
  }

  /**
   * Reserves `amountNanos` for the principal's call, or throws the 429 (or the deny 503). Answers at
   * once on a store that needs no I/O (the memory store), else through the guarded store.
   */
  reserve(principal: Principal, amountNanos: number): BudgetHold | Promise<BudgetHold> {
    const budget = principal.budget!
    const now = this.#options.now()
    const window = budgetWindow(budget.period, now)
    const limitNanos = usdToNanos(budget.amount_usd)
    const hold: BudgetHold = {
      scope: `${principal.id}:${window.id}`,
      keyId: principal.id,
      keyName: principal.name,
      period: budget.period,
      limitNanos,
      resetsAt: window.resetsAt,
      holdId: `${this.#process}:${++this.#sequence}`,
      amountNanos,
      keyExpiresAt: window.resetsAt === null ? null : window.resetsAt + dayMs,
    }
    const { guard, store } = this.#options
    const spec = { id: hold.holdId!, amountNanos, expiresAt: now + this.#options.reservationTtlMs }
    if (store.reserveNow) {
      const outcome = store.reserveNow(hold.scope, spec, limitNanos, now, hold.keyExpiresAt)
      return this.#admit(principal, window, hold, outcome, now)
    }
    return guard
      .run(
        'reserve',
        () => store.reserve(hold.scope, spec, limitNanos, now, hold.keyExpiresAt),
        () => null,
      )
      .then((outcome) => this.#admit(principal, window, hold, outcome, now))
  }

  /** The hold when the store took it; the refusal otherwise. `outcome` null: the store was unavailable. */
  #admit(
    principal: Principal,
    window: BudgetWindow,
    hold: BudgetHold,
    outcome: ReserveOutcome | null,
    now: number,
  ): BudgetHold {
    if (outcome === null) {
      if (this.#options.guard.onError === 'deny') throw storeUnavailable()
      hold.holdId = null
      return hold
    }
    if (!outcome.admitted)
      throw budgetExceeded(principal, window, outcome, hold.amountNanos, hold.limitNanos, now)
    return hold
  }

  /**
   * Releases the hold and adds the cost; alerts follow the new total. In the background, retried,
   * on a store that needs I/O; at once on one that does not (undefined is then returned).
   */
  settle(hold: BudgetHold, costNanos: number): Promise<void> | undefined {
    const { store } = this.#options
    if (store.settleNow) {
      let spentNanos: number | undefined
      try {
        spentNanos = store.settleNow(hold.scope, hold.holdId, costNanos, hold.keyExpiresAt)
      } catch {
        // Retried (and logged when it never succeeds) like a failed asynchronous settlement.
      }
      if (spentNanos !== undefined) {
        this.#alertOnSpend(hold, costNanos, spentNanos)
        return undefined
      }
    }
    return withRetries(
      () => store.settle(hold.scope, hold.holdId, costNanos, hold.keyExpiresAt),
      this.#options.retryDelaysMs ?? [100, 500, 2000],
      (err, attempts) =>
        this.#options.log.error(
          {
            err: errorText(err),
            attempts,
            budget: { scope: hold.scope, hold_id: hold.holdId, cost_usd: nanosToUsd(costNanos) },
          },
          'budget settlement lost: the store refused it on every attempt (the reservation expires on its own)',
        ),
    ).then((spentNanos) => this.#alertOnSpend(hold, costNanos, spentNanos))
  }

  #alertOnSpend(hold: BudgetHold, costNanos: number, spentNanos: number | undefined): void {
    if (spentNanos !== undefined && costNanos > 0) this.#options.alerts?.check(hold, spentNanos)
  }

  /** The principal's budget in its current period, for the admin API; null without a budget. */
  async status(principal: Principal): Promise<BudgetStatus | null> {
    const budget = principal.budget
    if (!budget) return null
    const now = this.#options.now()
    const window = budgetWindow(budget.period, now)
    const state = await this.#options.store.state(`${principal.id}:${window.id}`, now)
    return {
      period: budget.period,
      budget_usd: budget.amount_usd,
      spent_usd: nanosToUsd(state.spentNanos),
      reserved_usd: nanosToUsd(state.reservedNanos),
      resets_at: window.resetsAt === null ? null : new Date(window.resetsAt).toISOString(),
    }
  }
}
