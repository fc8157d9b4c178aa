// The Markdown table: one row per measured figure, the three targets side by side, then what the
// two gateways add over direct and how AnyGate compares with direct and with the floor.

export const targetNames = ['direct', 'floor', 'anygate'] as const
export type TargetName = (typeof targetNames)[number]

export interface ReportRow {
  scenario: string
  metric: string
  /** Only 'ms' rows get the "added latency" columns; every row gets the ratios. */
  unit: 'ms' | 'req/s' | 'µs'
  values: Record<TargetName, number>
}

function formatValue(value: number, unit: ReportRow['unit']): string {
  if (!Number.isFinite(value)) return 'n/a'
  return unit === 'ms' ? value.toFixed(2) : Math.round(value).toLocaleString('en-US')
}

const formatAdded = (value: number) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)}` : 'n/a'

const formatRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')

export function markdownTable(rows: readonly ReportRow[]): string {
  const header = [
    'scenario',
    'metric',
    'direct',
    'floor',
    'anygate',
    'floor − direct (ms)',
    'anygate − direct (ms)',
    'floor ÷ direct',
    'anygate ÷ direct',
    'anygate ÷ floor',
  ]
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
  ]
  for (const row of rows) {
    const { direct, floor, anygate } = row.values
    const cells = [
      row.scenario,
      `${row.metric} (${row.unit})`,
      formatValue(direct, row.unit),
      formatValue(floor, row.unit),
      formatValue(anygate, row.unit),
      row.unit === 'ms' ? formatAdded(floor - direct) : '—',
      row.unit === 'ms' ? formatAdded(anygate - direct) : '—',
      formatRatio(floor / direct),
      formatRatio(anygate / direct),
      formatRatio(anygate / floor),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}
