// Spend totals per UTC day, key and public model: what GET /admin/spend reports. One interface, a
// memory store (one process) and a Redis store (every replica adds to the same counters). A day is
// one unit of storage in both, so a report over a date range reads one entry per day, and a day
// older than the retention is dropped whole.
import { dayMs, parseUtcDay } from './periods.js'

/** What one call (or several) adds to a day's totals. */
export interface SpendEntry {
  keyId: string
  /** The key's name when the call was made; reported next to the id. */
  keyName: string
  /** The public model, as the client named it. */
  model: string
  requests: number
  promptTokens: number
  completionTokens: number
  costNanos: number
}

export type SpendRow = Omit<SpendEntry, 'keyName'> & { day: string }

export interface SpendFilter {
  /** `YYYY-MM-DD`, in order. */
  days: readonly string[]
  keyId?: string
  model?: string
}

export interface SpendStore {
  /** Adds to the day's totals; throws when the write failed (the recorder retries). */
  add(day: string, entry: SpendEntry): Promise<void>
  /**
   * The same write done at once, for a store that needs no I/O: the recorder then skips the promise,
   * retry chain and pending set it builds around `add`, a share of every call's CPU.
   */
  addNow?(day: string, entry: SpendEntry): void
  /** One row per day, key and model with anything recorded, matching the filter. */
  query(filter: SpendFilter): Promise<SpendRow[]>
  /** The latest name recorded for each key id (ids never recorded are absent). */
  keyNames(keyIds: readonly string[]): Promise<Map<string, string>>
}

/** When a day's totals may be dropped: `retentionDays` after the day ended. */
export function dayExpiresAt(day: string, retentionDays: number): number {
  return (parseUtcDay(day) ?? 0) + (retentionDays + 1) * dayMs
}

type Totals = Omit<SpendRow, 'day'>

/** A day's totals by key id, then by model: two lookups instead of a joined key built per call. */
type DayTotals = Map<string, Map<string, Totals>>

export class MemorySpendStore implements SpendStore {
  readonly #days = new Map<string, DayTotals>()
  readonly #names = new Map<string, string>()
  readonly #retentionDays: number
  readonly #now: () => number

  constructor(options: { retentionDays: number; now?: () => number }) {
    this.#retentionDays = options.retentionDays
    this.#now = options.now ?? Date.now
  }

  async add(day: string, entry: SpendEntry): Promise<void> {
    this.addNow(day, entry)
  }

  addNow(day: string, entry: SpendEntry): void {
    let totals = this.#days.get(day)
    if (!totals) {
      this.#dropExpired()
      totals = new Map()
      this.#days.set(day, totals)
    }
    let byModel = totals.get(entry.keyId)
    if (!byModel) {
      byModel = new Map()
      totals.set(entry.keyId, byModel)
    }
    const row = byModel.get(entry.model)
    if (row) {
      row.requests += entry.requests
      row.promptTokens += entry.promptTokens
      row.completionTokens += entry.completionTokens
      row.costNanos += entry.costNanos
    } else {
      byModel.set(entry.model, {
        keyId: entry.keyId,
        model: entry.model,
        requests: entry.requests,
        promptTokens: entry.promptTokens,
        completionTokens: entry.completionTokens,
        costNanos: entry.costNanos,
      })
    }
    // Names change rarely: a write only when it did (a Map set is not free on every call).
    if (this.#names.get(entry.keyId) !== entry.keyName) this.#names.set(entry.keyId, entry.keyName)
  }

  async query(filter: SpendFilter): Promise<SpendRow[]> {
    const rows: SpendRow[] = []
    for (const day of filter.days) {
      const totals = this.#days.get(day)
      if (!totals) continue
      for (const [keyId, byModel] of totals) {
        if (filter.keyId !== undefined && keyId !== filter.keyId) continue
        for (const row of byModel.values()) {
          if (filter.model !== undefined && row.model !== filter.model) continue
          rows.push({ day, ...row })
        }
      }
    }
    return rows
  }

  async keyNames(keyIds: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>()
    for (const id of keyIds) {
      const name = this.#names.get(id)
      if (name !== undefined) names.set(id, name)
    }
    return names
  }

  /** Runs when a new day starts, so at most once a day in a steady process. */
  #dropExpired(): void {
    const now = this.#now()
    for (const day of this.#days.keys()) {
      if (dayExpiresAt(day, this.#retentionDays) <= now) this.#days.delete(day)
    }
  }
}
