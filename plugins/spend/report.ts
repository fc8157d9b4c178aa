// GET /admin/spend's arithmetic: the stored day/key/model rows summed into groups.
import { nanosToUsd } from './money.js'
import type { SpendRow } from './spend-store.js'

export type SpendGroupBy = 'model' | 'key' | 'day'

export interface SpendTotals {
  requests: number
  prompt_tokens: number
  completion_tokens: number
  cost_usd: number
}

export interface SpendGroup extends SpendTotals {
  /** The model, key id or `YYYY-MM-DD`, per group_by. */
  group: string
}

interface Sum {
  requests: number
  promptTokens: number
  completionTokens: number
  costNanos: number
}

const emptySum = (): Sum => ({ requests: 0, promptTokens: 0, completionTokens: 0, costNanos: 0 })

function add(sum: Sum, row: SpendRow): void {
  sum.requests += row.requests
  sum.promptTokens += row.promptTokens
  sum.completionTokens += row.completionTokens
  sum.costNanos += row.costNanos
}

// Summed in nano-USD and converted once, so a group's cost is exact whatever the row count.
const toTotals = (sum: Sum): SpendTotals => ({
  requests: sum.requests,
  prompt_tokens: sum.promptTokens,
  completion_tokens: sum.completionTokens,
  cost_usd: nanosToUsd(sum.costNanos),
})

const groupOf = (row: SpendRow, groupBy: SpendGroupBy) =>
  groupBy === 'model' ? row.model : groupBy === 'key' ? row.keyId : row.day

/** Days in date order; models and keys by cost, the dearest first (ties by name). */
export function groupSpend(
  rows: readonly SpendRow[],
  groupBy: SpendGroupBy,
): { groups: SpendGroup[]; total: SpendTotals } {
  const sums = new Map<string, Sum>()
  const total = emptySum()
  for (const row of rows) {
    const group = groupOf(row, groupBy)
    let sum = sums.get(group)
    if (!sum) {
      sum = emptySum()
      sums.set(group, sum)
    }
    add(sum, row)
    add(total, row)
  }
  const entries = [...sums]
  if (groupBy === 'day') entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  else entries.sort(([a, x], [b, y]) => y.costNanos - x.costNanos || (a < b ? -1 : a > b ? 1 : 0))
  return { groups: entries.map(([group, sum]) => ({ group, ...toTotals(sum) })), total: toTotals(total) }
}
