// The Markdown tables: one row per measured figure, the three targets side by side, then what the
// two gateways add over direct and how AnyGate compares with direct and with the floor; and a second
// table for the 3-target group against direct and the single-target AnyGate.

export const targetNames = ['direct', 'floor', 'anygate'] as const
export type TargetName = (typeof targetNames)[number]

/** AnyGate with a 3-target public model, measured beside the others in the fixed-rate scenario. */
export const groupTargetName = 'anygate-3'
/** AnyGate with other plugins on or off, measured beside the others in the plugins scenario. */
export const variantTargetNames = ['anygate-bare', 'anygate-stack-memory', 'anygate-stack-redis'] as const
export type VariantTargetName = (typeof variantTargetNames)[number]
/** AnyGate with the memory response cache, measured beside direct in the cache scenario. */
export const cacheTargetName = 'anygate-cache'
/** Other gateways measured beside AnyGate when installed (bench/portkey.ts). */
export const peerNames = ['portkey'] as const
export type PeerName = (typeof peerNames)[number]
/** The full plugin stack (auth, limits on Redis, metrics) over a 3-target model (scenario g). */
export const fullStackTargetName = 'anygate-stack-redis-3'
/** Floor and AnyGate with 1,024 upstream sockets, so 1,000 streams can be open at once (scenario f). */
export const wideTargetNames = ['floor-wide', 'anygate-wide'] as const
export type WideTargetName = (typeof wideTargetNames)[number]
export type BenchTargetName =
  | TargetName
  | typeof groupTargetName
  | VariantTargetName
  | typeof cacheTargetName
  | PeerName
  | typeof fullStackTargetName
  | WideTargetName

export interface ReportRow {
  scenario: string
  metric: string
  /** Only 'ms' rows get the "added latency" columns; every row gets the ratios. */
  unit: 'ms' | 'req/s' | 'µs'
  /** Peers appear when they were measured (installed), in columns of their own. */
  values: Record<TargetName, number> & Partial<Record<PeerName, number>>
}

function formatValue(value: number, unit: ReportRow['unit'] | GroupRow['unit']): string {
  if (!Number.isFinite(value)) return 'n/a'
  return unit === 'ms' ? value.toFixed(2) : Math.round(value).toLocaleString('en-US')
}

const formatAdded = (value: number) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)}` : 'n/a'

const formatRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')

export function markdownTable(rows: readonly ReportRow[]): string {
  const withPortkey = rows.some((row) => row.values.portkey !== undefined)
  const header = [
    'scenario',
    'metric',
    'direct',
    'floor',
    'anygate',
    ...(withPortkey ? ['portkey'] : []),
    'floor − direct (ms)',
    'anygate − direct (ms)',
    'floor ÷ direct',
    'anygate ÷ direct',
    'anygate ÷ floor',
    ...(withPortkey ? ['portkey ÷ floor', 'anygate ÷ portkey'] : []),
  ]
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
  ]
  for (const row of rows) {
    const { direct, floor, anygate } = row.values
    const portkey = row.values.portkey ?? Number.NaN
    const cells = [
      row.scenario,
      `${row.metric} (${row.unit})`,
      formatValue(direct, row.unit),
      formatValue(floor, row.unit),
      formatValue(anygate, row.unit),
      ...(withPortkey ? [formatValue(portkey, row.unit)] : []),
      row.unit === 'ms' ? formatAdded(floor - direct) : '—',
      row.unit === 'ms' ? formatAdded(anygate - direct) : '—',
      formatRatio(floor / direct),
      formatRatio(anygate / direct),
      formatRatio(anygate / floor),
      ...(withPortkey ? [formatRatio(portkey / floor), formatRatio(anygate / portkey)] : []),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

export interface GroupRow {
  scenario: string
  metric: string
  unit: 'ms' | 'µs'
  direct: number
  /** Single-target AnyGate. */
  anygate: number
  /** AnyGate with the 3-target group. */
  group: number
}

const formatDifference = (value: number, unit: GroupRow['unit']) =>
  unit === 'ms'
    ? formatAdded(value)
    : Number.isFinite(value)
      ? `${value >= 0 ? '+' : ''}${Math.round(value)}`
      : 'n/a'

/** The 3-target group beside direct and the single-target AnyGate: what a group adds to routing. */
export function groupTable(rows: readonly GroupRow[]): string {
  const header = [
    'scenario',
    'metric',
    'direct',
    'anygate, 1 target',
    'anygate, 3 targets',
    'anygate 1 − direct',
    'anygate 3 − direct',
    'anygate 3 − anygate 1',
  ]
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
  ]
  for (const row of rows) {
    const cells = [
      row.scenario,
      `${row.metric} (${row.unit})`,
      formatValue(row.direct, row.unit),
      formatValue(row.anygate, row.unit),
      formatValue(row.group, row.unit),
      formatDifference(row.anygate - row.direct, row.unit),
      formatDifference(row.group - row.direct, row.unit),
      formatDifference(row.group - row.anygate, row.unit),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}
