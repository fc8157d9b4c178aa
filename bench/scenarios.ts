// The scenarios comparing direct, floor and AnyGate (bench/rounds.ts measures them in turn). The
// fixed-rate scenario also measures AnyGate with a 3-target group in the same rounds, so its
// figures and the single-target ones share their conditions.
import { fixedRate, maxThroughput } from './http-load.js'
import { spread } from './percentiles.js'
import { type GroupRow, groupTargetName, type ReportRow, type TargetName, targetNames } from './report.js'
import {
  failureNote,
  mapTargets,
  measureInRounds,
  mergeHttp,
  namesOf,
  type Targets,
  totalFailed,
} from './rounds.js'
import type { BenchSettings } from './settings.js'
import { type StreamLoadResult, streamLoad } from './stream-load.js'

export interface ScenarioOutcome {
  /** Rows of the main table (direct, floor, anygate side by side); empty for scenarios of their own. */
  rows: ReportRow[]
  /** Achieved load and failures: the conditions the rows were measured under. */
  note: string
  failed: number
  /** The 3-target group beside direct and single-target AnyGate (fixed-rate scenario only). */
  group?: { rows: GroupRow[]; note: string }
  /** Markdown sections of its own (heading, tables, notes), for scenarios that compare other targets. */
  section?: string
}

function cpuRow(scenario: string, metric: string, values: Record<TargetName, number>): ReportRow {
  return { scenario, metric, unit: 'µs', values }
}

/** The issue #4 goal: a 3-target group adds at most this much p50 over the single-target AnyGate. */
const groupGoalMs = 0.2

export async function fixedRateScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `a. non-stream @ ${s.fixedRate} req/s`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    [...targetNames, groupTargetName],
    s.rounds,
    (target) => fixedRate(target.origin, s.fixedRate, s.rateConnections, s.warmupSeconds, target.request),
    (target) => fixedRate(target.origin, s.fixedRate, s.rateConnections, seconds, target.request),
  )
  const all = mapTargets(measured, mergeHttp)
  const { [groupTargetName]: group, ...merged } = all
  const achieved = namesOf(all)
    .map((name) => `${name} ${Math.round(all[name].requestsPerSecond)}`)
    .join(', ')
  const groupRow = (metric: string, unit: GroupRow['unit'], pick: (m: typeof group) => number): GroupRow => ({
    scenario,
    metric,
    unit,
    direct: pick(merged.direct),
    anygate: pick(merged.anygate),
    group: pick(group),
  })
  const p50Gap = group.latency.p50 - merged.anygate.latency.p50
  return {
    rows: [
      { scenario, metric: 'latency p50', unit: 'ms', values: mapTargets(merged, (m) => m.latency.p50) },
      { scenario, metric: 'latency p99', unit: 'ms', values: mapTargets(merged, (m) => m.latency.p99) },
      cpuRow(
        scenario,
        'server CPU per request',
        mapTargets(merged, (m) => m.cpuMicrosPerRequest),
      ),
    ],
    note:
      `${scenario}: ${s.durationSeconds} s per target in ${s.rounds} round(s), autocannon overallRate over ` +
      `${s.rateConnections} connections; achieved req/s ${achieved}; ${failureNote(measured)}`,
    failed: totalFailed(measured),
    group: {
      rows: [
        groupRow('latency p50', 'ms', (m) => m.latency.p50),
        groupRow('latency p99', 'ms', (m) => m.latency.p99),
        groupRow('server CPU per request', 'µs', (m) => m.cpuMicrosPerRequest),
      ],
      note:
        `${groupTargetName}: one public model over 3 openai-type providers (own pools, weights 3:2:1, ` +
        `strategy weighted) on the same fake upstream, measured in the rounds of scenario a; ` +
        `issue #4 goal, p50 within ${groupGoalMs} ms of the single-target AnyGate: ` +
        `${p50Gap <= groupGoalMs ? 'met' : '**missed**'} (${p50Gap >= 0 ? '+' : ''}${p50Gap.toFixed(2)} ms)`,
    },
  }
}

export async function throughputScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `b. non-stream, ${s.throughputConnections} connections`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    targetNames,
    s.rounds,
    (target) => maxThroughput(target.origin, s.throughputConnections, s.warmupSeconds, target.request),
    (target) => maxThroughput(target.origin, s.throughputConnections, seconds, target.request),
  )
  const merged = mapTargets(measured, mergeHttp)
  const served = targetNames.map((name) => `${name} ${merged[name].ok}`).join(', ')
  return {
    rows: [
      {
        scenario,
        metric: 'throughput',
        unit: 'req/s',
        values: mapTargets(merged, (m) => m.requestsPerSecond),
      },
      cpuRow(
        scenario,
        'server CPU per request',
        mapTargets(merged, (m) => m.cpuMicrosPerRequest),
      ),
    ],
    note: `${scenario}: ${s.durationSeconds} s per target in ${s.rounds} round(s); requests served ${served}; ${failureNote(measured)}`,
    failed: totalFailed(measured),
  }
}

export async function streamScenario(
  targets: Targets,
  s: BenchSettings,
  expectedEvents: number,
): Promise<ScenarioOutcome> {
  const scenario = `c. stream ${s.streamChunks} chunks, ${s.streamConcurrency} concurrent`
  const load = { concurrency: s.streamConcurrency, expectedEvents }
  const perRound = Math.ceil(s.streamRequests / s.rounds)
  const measured = await measureInRounds<StreamLoadResult, TargetName>(
    scenario,
    targets,
    targetNames,
    s.rounds,
    (target) =>
      streamLoad(target.origin, {
        ...load,
        headers: target.request?.headers,
        requests: s.streamWarmupRequests,
      }),
    (target) => streamLoad(target.origin, { ...load, headers: target.request?.headers, requests: perRound }),
  )
  const merged = mapTargets(measured, (m) => {
    const completed = m.runs.reduce((sum, run) => sum + run.ttfbMs.length, 0)
    return {
      ttfb: spread(m.runs.flatMap((run) => run.ttfbMs)),
      total: spread(m.runs.flatMap((run) => run.totalMs)),
      cpuMicrosPerStream: m.cpuMicros / completed,
    }
  })
  const delay = s.chunkDelayMs > 0 ? `${s.chunkDelayMs} ms between chunks` : 'no delay between chunks'
  return {
    rows: [
      { scenario, metric: 'TTFB p50', unit: 'ms', values: mapTargets(merged, (m) => m.ttfb.p50) },
      { scenario, metric: 'TTFB p99', unit: 'ms', values: mapTargets(merged, (m) => m.ttfb.p99) },
      { scenario, metric: 'total p50', unit: 'ms', values: mapTargets(merged, (m) => m.total.p50) },
      { scenario, metric: 'total p99', unit: 'ms', values: mapTargets(merged, (m) => m.total.p99) },
      cpuRow(
        scenario,
        'server CPU per stream',
        mapTargets(merged, (m) => m.cpuMicrosPerStream),
      ),
    ],
    note:
      `${scenario}: ${perRound * s.rounds} streams per target in ${s.rounds} round(s), ${delay}, ` +
      `usage chunk included; ${failureNote(measured)}`,
    failed: totalFailed(measured),
  }
}
