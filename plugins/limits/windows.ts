// Counters for key and model limits (rpm and tpm), one interface with a memory and a Redis
// implementation (redis-windows.ts). A request takes from every window that applies to it at once:
// all or nothing, so a request one limit refuses is not counted by the others.
import { fitsWindow, type WindowCounts, windowMs } from './sliding-window.js'

export interface WindowCharge {
  /** e.g. `rpm:key:<principal id>`, `tpm:model:<model>`. */
  key: string
  limit: number
  amount: number
}

export interface TakeResult {
  admitted: boolean
  /** The fixed minute the amounts were counted in: settling adjusts that minute's counter. */
  minute: number
  msIntoMinute: number
  /** Per charge, the counts after taking (admitted) or as they stood (refused). */
  counts: WindowCounts[]
  /** The first charge that did not fit; -1 when admitted. */
  refused: number
  /** The store could not be asked: `admitted` is then store.on_error's answer and `counts` is empty. */
  degraded: boolean
}

export interface LimitWindows {
  /** Counts every charge when all fit; counts nothing otherwise. */
  take(charges: readonly WindowCharge[]): Promise<TakeResult>
  /** `take` done at once, for a store that needs no I/O: callers then skip a promise per request. */
  takeNow?(charges: readonly WindowCharge[]): TakeResult
  /** Corrects what `minute` counted for `key` (a settled reservation); never below zero. */
  adjust(key: string, minute: number, delta: number): Promise<void>
}

interface Entry extends WindowCounts {
  minute: number
}

export class MemoryLimitWindows implements LimitWindows {
  readonly #entries = new Map<string, Entry>()

  constructor(private readonly now: () => number = Date.now) {}

  #entry(key: string, minute: number): Entry {
    let entry = this.#entries.get(key)
    if (!entry) {
      entry = { minute, current: 0, previous: 0 }
      this.#entries.set(key, entry)
    } else if (entry.minute !== minute) {
      entry.previous = entry.minute === minute - 1 ? entry.current : 0
      entry.current = 0
      entry.minute = minute
    }
    return entry
  }

  async take(charges: readonly WindowCharge[]): Promise<TakeResult> {
    return this.takeNow(charges)
  }

  takeNow(charges: readonly WindowCharge[]): TakeResult {
    const at = this.now()
    const minute = Math.floor(at / windowMs)
    const msIntoMinute = at - minute * windowMs
    const entries = charges.map((charge) => this.#entry(charge.key, minute))
    const refused = charges.findIndex(
      (charge, i) => !fitsWindow(entries[i]!, charge.limit, charge.amount, msIntoMinute),
    )
    if (refused === -1) {
      for (let i = 0; i < charges.length; i++) entries[i]!.current += charges[i]!.amount
    }
    const counts = entries.map(({ current, previous }) => ({ current, previous }))
    return { admitted: refused === -1, minute, msIntoMinute, counts, refused, degraded: false }
  }

  async adjust(key: string, minute: number, delta: number): Promise<void> {
    const entry = this.#entries.get(key)
    if (!entry) return
    if (entry.minute === minute) entry.current = Math.max(0, entry.current + delta)
    else if (entry.minute === minute + 1) entry.previous = Math.max(0, entry.previous + delta)
  }
}
