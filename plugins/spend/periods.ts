// Budget periods and spend days, all in UTC: a day starts at 00:00, a week on Monday (ISO 8601), a
// month on its 1st. Each period has an id that names its stored counters, so a new period starts
// from zero without anything being reset, and a key whose period is changed starts a fresh count.
import type { BudgetPeriod } from '../principal.js'

const dayMs = 86_400_000

export interface BudgetWindow {
  period: BudgetPeriod
  /** `d2026-11-24`, `w2026-11-23` (the Monday), `m2026-11`, `total`. */
  id: string
  /** When the next period starts (epoch ms); null for `total`, which never resets. */
  resetsAt: number | null
}

const pad = (n: number) => String(n).padStart(2, '0')

/** `YYYY-MM-DD` of the UTC day `ms` falls in. */
export function utcDay(ms: number): string {
  const date = new Date(ms)
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`
}

export function budgetWindow(period: BudgetPeriod, now: number): BudgetWindow {
  const dayStart = now - (((now % dayMs) + dayMs) % dayMs)
  switch (period) {
    case 'daily':
      return { period, id: `d${utcDay(dayStart)}`, resetsAt: dayStart + dayMs }
    case 'weekly': {
      // getUTCDay: Sunday 0 ... Saturday 6; ISO weeks start on Monday.
      const sinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7
      const monday = dayStart - sinceMonday * dayMs
      return { period, id: `w${utcDay(monday)}`, resetsAt: monday + 7 * dayMs }
    }
    case 'monthly': {
      const date = new Date(now)
      const year = date.getUTCFullYear()
      const month = date.getUTCMonth()
      return { period, id: `m${year}-${pad(month + 1)}`, resetsAt: Date.UTC(year, month + 1, 1) }
    }
    case 'total':
      return { period, id: 'total', resetsAt: null }
  }
}

/** Parses `YYYY-MM-DD` to the epoch ms of that UTC day's start; undefined for anything else. */
export function parseUtcDay(day: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!match) return undefined
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
  return utcDay(ms) === day ? ms : undefined
}

/** Every `YYYY-MM-DD` from `from` to `to`, both included. */
export function daysBetween(fromMs: number, toMs: number): string[] {
  const days: string[] = []
  for (let at = fromMs; at <= toMs; at += dayMs) days.push(utcDay(at))
  return days
}

export { dayMs }
