// The soak's verdict and report: memory and lag at the end of the warm-up against the end of the
// run, requests by kind and outcome, faults, and the in-flight gauges. Pure.
import { requestKinds } from './soak-plan.js'
import type { SoakSettings } from './soak-settings.js'
import { type SoakTally, totalOf } from './soak-tally.js'
import type { LagWindow } from './soak-vitals.js'

/** The gateway's memory with the load paused and garbage collected: the same conditions each time. */
export interface Checkpoint {
  rssBytes: number
  heapUsedBytes: number
  /** Bytecode and compiled code within heapUsed: JIT work, which levels off, rather than data. */
  codeBytes?: number
  /** False when the child could not force a GC (not forked with --expose-gc). */
  gcForced: boolean
}

export interface SoakSummary {
  settings: SoakSettings
  start: Checkpoint
  end: Checkpoint
  /** Lag over the first and the last sampling window of the judged period. */
  lagStart?: LagWindow
  lagEnd?: LagWindow
  tally: SoakTally
  /** The upstream's own counts: requests, and each fault it injected (per attempt). */
  upstream: Record<string, number>
  /** anygate_inflight_requests per target once the load stopped. */
  inflight: Record<string, number>
  /** False when some request had not ended by the time the soak stopped waiting. */
  drained: boolean
}

/** Relative change from `start` to `end` (0.1 is 10% more). */
/** Below this many seconds the heap check leaves out bytecode and JIT code (see soakFailures). */
export const shortRunSeconds = 300

export const growth = (start: number, end: number) => (end - start) / start

/** `anygate_inflight_requests{target="a/m"} 0` lines of a Prometheus text body, by target. */
export function parseInflight(metrics: string): Record<string, number> {
  const found: Record<string, number> = {}
  for (const match of metrics.matchAll(/^anygate_inflight_requests\{target="([^"]*)"\} (\S+)$/gm)) {
    found[match[1]!] = Number(match[2])
  }
  return found
}

/** What makes the run fail; empty when it passed. */
export function soakFailures(summary: SoakSummary): string[] {
  const failures: string[] = []
  const { settings, start, end, tally } = summary
  if (!start.gcForced || !end.gcForced) {
    failures.push('the gateway could not collect garbage before measuring (run it with --expose-gc)')
  }
  // In a short run V8 is still compiling hot code for minutes after the warm-up, and that code is
  // most of the growth (heap snapshots show no data growing): short runs judge the heap without
  // bytecode and JIT code, runs of 5 minutes and more judge all of it.
  const withoutCode =
    settings.seconds < shortRunSeconds && start.codeBytes !== undefined && end.codeBytes !== undefined
  const basis = (v: Checkpoint) => (withoutCode ? v.heapUsedBytes - (v.codeBytes ?? 0) : v.heapUsedBytes)
  const heap = growth(basis(start), basis(end))
  if (heap > settings.maxHeapGrowth) {
    failures.push(
      `heapUsed${withoutCode ? ' without code' : ''} after GC grew ${percent(heap)} after the warm-up ` +
        `(${mb(basis(start))} → ${mb(basis(end))} MB), more than ${percent(settings.maxHeapGrowth)}`,
    )
  }
  const unexpected = totalOf(tally, 'unexpected')
  if (unexpected > 0) {
    failures.push(`${unexpected} requests did not end as their plan allows; first ones:`)
    for (const problem of tally.problems) failures.push(`  ${problem}`)
  }
  if (!summary.drained) failures.push('some requests had not ended when the soak stopped waiting for them')
  if (tally.skipped > 0) {
    failures.push(`${tally.skipped} requests were skipped: the gateway had ${settings.maxInFlight} in flight`)
  }
  const targets = Object.entries(summary.inflight)
  if (targets.length === 0) failures.push('/metrics showed no anygate_inflight_requests gauge')
  for (const [target, value] of targets) {
    if (value !== 0)
      failures.push(`anygate_inflight_requests{target="${target}"} is ${value} after the load stopped`)
  }
  if (totalOf(tally, 'ok') === 0) failures.push('no request succeeded')
  const planned = Object.values(tally.faultsPlanned).reduce((sum, n) => sum + n, 0)
  if (planned > 0 && injectedFaults(summary.upstream) === 0) failures.push('the upstream injected no fault')
  return failures
}

const injectedFaults = (upstream: Record<string, number>) =>
  Object.entries(upstream)
    .filter(([name]) => name.startsWith('fault '))
    .reduce((sum, [, n]) => sum + n, 0)

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const percent = (share: number) => `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)}%`
const ms = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(1))
const lagText = (lag: LagWindow | undefined) =>
  lag === undefined ? '— / — / —' : `${ms(lag.p50Ms)} / ${ms(lag.p99Ms)} / ${ms(lag.maxMs)}`

const sortedCounts = (counts: Record<string, number>) =>
  Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))

export function renderSoakReport(summary: SoakSummary): string {
  const { settings, start, end, tally } = summary
  const failures = soakFailures(summary)
  const lines = [
    `## AnyGate soak: ${settings.seconds} s at ${settings.rate} req/s (warm-up ${settings.warmupSeconds} s, seed ${settings.seed})`,
    '',
    '| gateway | after warm-up | end | change |',
    '| --- | ---: | ---: | ---: |',
    `| RSS (MB) | ${mb(start.rssBytes)} | ${mb(end.rssBytes)} | ${percent(growth(start.rssBytes, end.rssBytes))} |`,
    `| heapUsed after GC (MB) | ${mb(start.heapUsedBytes)} | ${mb(end.heapUsedBytes)} | ` +
      `${percent(growth(start.heapUsedBytes, end.heapUsedBytes))} (limit +${(settings.maxHeapGrowth * 100).toFixed(0)}%) |`,
    ...codeRow(start, end),
    `| event-loop lag p50 / p99 / max (ms) | ${lagText(summary.lagStart)} | ${lagText(summary.lagEnd)} | |`,
    '',
    '| requests | sent | ok | clean error (faulted) | aborted (planned) | unexpected | cache hits |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...requestKinds.map((kind) => {
      const k = tally.byKind[kind]
      return `| ${kind} | ${k.sent} | ${k.ok} | ${k.expectedErrors} | ${k.aborted} | ${k.unexpected} | ${k.cacheHits} |`
    }),
    `| all | ${totalOf(tally, 'sent')} | ${totalOf(tally, 'ok')} | ${totalOf(tally, 'expectedErrors')} | ` +
      `${totalOf(tally, 'aborted')} | ${totalOf(tally, 'unexpected')} | ${totalOf(tally, 'cacheHits')} |`,
    '',
    `Faulted requests sent (type at/attempts): ${listOf(tally.faultsPlanned)}`,
    `Faults the upstream injected (each attempt): ${listOf(withoutRequests(summary.upstream))}, of ${summary.upstream.requests ?? 0} upstream calls`,
    `Clean errors the faulted requests ended with: ${listOf(tally.errorCodes)}`,
    `In flight after the load stopped: ${listOf(summary.inflight)}`,
    '',
    failures.length === 0 ? '**PASS**' : `**FAIL**\n${failures.map((f) => `- ${f}`).join('\n')}`,
  ]
  return lines.join('\n')
}

function codeRow(start: Checkpoint, end: Checkpoint): string[] {
  if (start.codeBytes === undefined || end.codeBytes === undefined) return []
  const change = (end.codeBytes - start.codeBytes) / 1024 / 1024
  return [
    `| of which bytecode and JIT code (MB) | ${mb(start.codeBytes)} | ${mb(end.codeBytes)} | ` +
      `${change >= 0 ? '+' : ''}${change.toFixed(1)} MB |`,
  ]
}

const withoutRequests = (upstream: Record<string, number>) =>
  Object.fromEntries(Object.entries(upstream).filter(([name]) => name !== 'requests'))

function listOf(counts: Record<string, number>): string {
  const entries = sortedCounts(counts)
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name}: ${n}`).join(', ')
}
