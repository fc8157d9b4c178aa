// The Markdown tables of the plugins and cache scenarios: each target's latency beside direct, then
// the figures the issues set goals for (the p50 a plugin set adds, or a cache hit's own p50), each
// marked pass or fail. Pure: figures in, text out.
import type { Spread } from './percentiles.js'

export type Latency = Pick<Spread, 'p50' | 'p99'>

export interface LatencyRow {
  target: string
  /** What runs in that target, in a few words. */
  plugins: string
  latency: Latency
  cpuMicrosPerRequest: number
}

/** A p50 limit from an issue: met when the figure's p50 is strictly under it. */
export interface Goal {
  limitMs: number
  /** Where the goal comes from, e.g. "#5". */
  source: string
}

export interface GoalRow {
  /** What the figure measures, e.g. "auth + limits + budget + metrics, memory store". */
  what: string
  /** How it was computed, e.g. "anygate-stack-memory − anygate-bare". */
  figure: string
  /** `added`: a difference between two targets (shown signed); `absolute`: one target's own latency. */
  kind: 'added' | 'absolute'
  latency: Latency
  /** Rows without one are context for the rows with one. */
  goal?: Goal
}

/** Percentile by percentile: what `of` adds over `over` (p50 minus p50, p99 minus p99). */
export function latencyAdded(of: Latency, over: Latency): Latency {
  return { p50: of.p50 - over.p50, p99: of.p99 - over.p99 }
}

export function meetsGoal(p50Ms: number, goal: Goal): boolean {
  return Number.isFinite(p50Ms) && p50Ms < goal.limitMs
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a')
const signedMs = (value: number) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)}` : 'n/a'
const micros = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a')

function table(header: readonly string[], leftColumns: number, rows: readonly (readonly string[])[]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < leftColumns ? ' --- ' : ' ---: ')).join('|')}|`,
  ]
  for (const cells of rows) lines.push(`| ${cells.join(' | ')} |`)
  return lines.join('\n')
}

/** Every target's latency and CPU, and what it adds over the `baseline` row's target (direct). */
export function latencyTable(rows: readonly LatencyRow[], baseline: string): string {
  const base = rows.find((row) => row.target === baseline)?.latency ?? { p50: Number.NaN, p99: Number.NaN }
  return table(
    [
      'target',
      'plugins on',
      'p50 (ms)',
      'p99 (ms)',
      `p50 − ${baseline} (ms)`,
      `p99 − ${baseline} (ms)`,
      'server CPU per request (µs)',
    ],
    2,
    rows.map((row) => {
      const added = latencyAdded(row.latency, base)
      return [
        row.target,
        row.plugins,
        ms(row.latency.p50),
        ms(row.latency.p99),
        row.target === baseline ? '—' : signedMs(added.p50),
        row.target === baseline ? '—' : signedMs(added.p99),
        micros(row.cpuMicrosPerRequest),
      ]
    }),
  )
}

function verdict(row: GoalRow): string {
  if (!row.goal) return '—'
  return meetsGoal(row.latency.p50, row.goal) ? 'pass' : '**fail**'
}

/** The figures the issues set goals for, each with its goal and a pass or fail mark. */
export function goalTable(rows: readonly GoalRow[]): string {
  return table(
    ['what', 'figure', 'p50 (ms)', 'p99 (ms)', 'goal (p50)', 'result'],
    2,
    rows.map((row) => {
      const format = row.kind === 'added' ? signedMs : ms
      return [
        row.what,
        row.figure,
        format(row.latency.p50),
        format(row.latency.p99),
        row.goal ? `< ${row.goal.limitMs} ms (${row.goal.source})` : '—',
        verdict(row),
      ]
    }),
  )
}

/** "2 of 3 goals met", for the run's summary on stderr. */
export function goalSummary(rows: readonly GoalRow[]): string {
  const judged = rows.filter((row) => row.goal)
  const met = judged.filter((row) => meetsGoal(row.latency.p50, row.goal!))
  return `${met.length} of ${judged.length} goals met`
}
