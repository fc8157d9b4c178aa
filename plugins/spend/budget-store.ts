// Budget counters per key and period (a "scope": `<key id>:<period id>`): what was spent, and what
// calls in flight hold in reservations. Admission and reservation are one atomic step, so replicas
// racing for the last dollar of a budget can't both take it: a budget is overshot only by the
// difference between what admitted calls reserved and what they turned out to cost.
//
// A reservation carries an expiry: one never settled (its replica died mid-call) is dropped by the
// next reservation in its scope, instead of holding the budget hostage until the period ends.

export interface BudgetHoldSpec {
  id: string
  amountNanos: number
  /** Epoch ms after which the hold counts as abandoned. */
  expiresAt: number
}

export interface BudgetState {
  spentNanos: number
  reservedNanos: number
}

export interface ReserveOutcome extends BudgetState {
  /** spent < limit and spent + reserved + amount <= limit: the hold was taken. */
  admitted: boolean
}

export interface BudgetStore {
  /** Drops expired holds, then takes `hold` when it fits under `limitNanos`; `keyExpiresAt` null: keep forever. */
  reserve(
    scope: string,
    hold: BudgetHoldSpec,
    limitNanos: number,
    now: number,
    keyExpiresAt: number | null,
  ): Promise<ReserveOutcome>
  /** Releases the hold when it is still held, adds the cost, and returns the scope's spend after. */
  settle(
    scope: string,
    holdId: string | null,
    costNanos: number,
    keyExpiresAt: number | null,
  ): Promise<number>
  /**
   * `reserve` and `settle` done at once, for a store that needs no I/O: the budget check then skips
   * the promises, store guard and retry chain built around the asynchronous forms on every call.
   */
  reserveNow?(
    scope: string,
    hold: BudgetHoldSpec,
    limitNanos: number,
    now: number,
    keyExpiresAt: number | null,
  ): ReserveOutcome
  settleNow?(scope: string, holdId: string | null, costNanos: number, keyExpiresAt: number | null): number
  state(scope: string, now: number): Promise<BudgetState>
  /** True only for the first caller per scope and threshold, whichever replica it is on. */
  claimAlert(scope: string, threshold: number, expiresAt: number | null): Promise<boolean>
}

/** The admission rule both stores apply. */
export function fitsBudget(state: BudgetState, amountNanos: number, limitNanos: number): boolean {
  return state.spentNanos < limitNanos && state.spentNanos + state.reservedNanos + amountNanos <= limitNanos
}

interface MemoryScope extends BudgetState {
  holds: Map<string, { amountNanos: number; expiresAt: number }>
  expiresAt: number | null
  /** No hold expires before this, so reservations skip the expiry scan until then. */
  holdsExpireFrom: number
}

const sweepEvery = 1000

export class MemoryBudgetStore implements BudgetStore {
  readonly #scopes = new Map<string, MemoryScope>()
  readonly #alerts = new Map<string, number | null>()
  readonly #now: () => number
  #untilSweep = sweepEvery

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  async reserve(
    scopeId: string,
    hold: BudgetHoldSpec,
    limitNanos: number,
    now: number,
    keyExpiresAt: number | null,
  ): Promise<ReserveOutcome> {
    return this.reserveNow(scopeId, hold, limitNanos, now, keyExpiresAt)
  }

  reserveNow(
    scopeId: string,
    hold: BudgetHoldSpec,
    limitNanos: number,
    now: number,
    keyExpiresAt: number | null,
  ): ReserveOutcome {
    const scope = this.#scope(scopeId, keyExpiresAt)
    if (scope.holdsExpireFrom <= now) dropExpiredHolds(scope, now)
    if (!fitsBudget(scope, hold.amountNanos, limitNanos)) return outcomeOf(false, scope)
    scope.reservedNanos += hold.amountNanos
    scope.holds.set(hold.id, { amountNanos: hold.amountNanos, expiresAt: hold.expiresAt })
    scope.holdsExpireFrom = Math.min(scope.holdsExpireFrom, hold.expiresAt)
    return outcomeOf(true, scope)
  }

  async settle(
    scopeId: string,
    holdId: string | null,
    costNanos: number,
    keyExpiresAt: number | null,
  ): Promise<number> {
    return this.settleNow(scopeId, holdId, costNanos, keyExpiresAt)
  }

  settleNow(scopeId: string, holdId: string | null, costNanos: number, keyExpiresAt: number | null): number {
    const scope = this.#scope(scopeId, keyExpiresAt)
    const held = holdId === null ? undefined : scope.holds.get(holdId)
    if (held && holdId !== null) {
      scope.reservedNanos -= held.amountNanos
      scope.holds.delete(holdId)
    }
    scope.spentNanos += costNanos
    return scope.spentNanos
  }

  async state(scopeId: string, now: number): Promise<BudgetState> {
    const scope = this.#scopes.get(scopeId)
    if (!scope) return { spentNanos: 0, reservedNanos: 0 }
    let reservedNanos = 0
    for (const held of scope.holds.values()) if (held.expiresAt > now) reservedNanos += held.amountNanos
    return { spentNanos: scope.spentNanos, reservedNanos }
  }

  async claimAlert(scope: string, threshold: number, expiresAt: number | null): Promise<boolean> {
    const id = `${scope}:${threshold}`
    const existing = this.#alerts.get(id)
    if (existing !== undefined && (existing === null || existing > this.#now())) return false
    this.#alerts.set(id, expiresAt)
    return true
  }

  #scope(id: string, expiresAt: number | null): MemoryScope {
    if (--this.#untilSweep <= 0) this.#sweep()
    let scope = this.#scopes.get(id)
    if (!scope) {
      scope = {
        spentNanos: 0,
        reservedNanos: 0,
        holds: new Map(),
        expiresAt,
        holdsExpireFrom: Number.POSITIVE_INFINITY,
      }
      this.#scopes.set(id, scope)
    }
    return scope
  }

  /** Drops scopes of periods long over, so a process running for months does not keep them all. */
  #sweep(): void {
    this.#untilSweep = sweepEvery
    const now = this.#now()
    for (const [id, scope] of this.#scopes) {
      if (scope.expiresAt !== null && scope.expiresAt <= now) this.#scopes.delete(id)
    }
    for (const [id, expiresAt] of this.#alerts) {
      if (expiresAt !== null && expiresAt <= now) this.#alerts.delete(id)
    }
  }
}

const outcomeOf = (admitted: boolean, scope: BudgetState): ReserveOutcome => ({
  admitted,
  spentNanos: scope.spentNanos,
  reservedNanos: scope.reservedNanos,
})

/** Drops the holds expired by `now` (their replica never settled them) and notes the next expiry. */
function dropExpiredHolds(scope: MemoryScope, now: number): void {
  let next = Number.POSITIVE_INFINITY
  for (const [id, held] of scope.holds) {
    if (held.expiresAt > now) {
      next = Math.min(next, held.expiresAt)
      continue
    }
    scope.reservedNanos -= held.amountNanos
    scope.holds.delete(id)
  }
  scope.holdsExpireFrom = next
}
