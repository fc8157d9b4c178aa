// The scenarios comparing direct, floor and AnyGate (bench/rounds.ts measures them in turn). The
// fixed-rate scenario also measures AnyGate with a 3-target group in the same rounds, so its
// figures and the single-target ones share their conditions.
import { fixedRate, maxThroughput, type WarmUpPlan, warmUpByRequests } from './http-load.js'
import { spread } from './percentiles.js'
import {
  fullStackTargetName,
  type GroupRow,
  groupTargetName,
  type PeerName,
  peerNames,
  type ReportRow,
  type TargetName,
  targetNames,
} from './report.js'
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
/** Issue #8: AnyGate's throughput at 32 connections against the floor's. */
const throughputGoal = 0.85
/** Issue #8: what AnyGate may add to a stream's time to first byte (p50). */
const streamTtfbGoalMs = 1

/** The peers this run could start (Portkey when installed), measured beside the three targets. */
export function peersIn(targets: Targets): PeerName[] {
  return peerNames.filter((name) => targets[name] !== undefined)
}

/** One rate of scenario a: every target, the peers and the 3-target group in the same rounds. */
async function fixedRateAt(targets: Targets, s: BenchSettings, rate: number) {
  const scenario = `a. non-stream @ ${rate} req/s`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    [...targetNames, ...peersIn(targets), groupTargetName],
    s.rounds,
    (target) => fixedRate(target.origin, rate, s.rateConnections, s.warmupSeconds, target.request),
    (target) => fixedRate(target.origin, rate, s.rateConnections, seconds, target.request),
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
    ] satisfies ReportRow[],
    note:
      `${scenario}: ${s.durationSeconds} s per target in ${s.rounds} round(s), requests evenly paced (open loop) over ` +
      `${s.rateConnections} connections; achieved req/s ${achieved}; ${failureNote(measured)}`,
    failed: totalFailed(measured),
    groupRows: [
      groupRow('latency p50', 'ms', (m) => m.latency.p50),
      groupRow('latency p99', 'ms', (m) => m.latency.p99),
      groupRow('server CPU per request', 'µs', (m) => m.cpuMicrosPerRequest),
    ],
    groupNote:
      `${rate} req/s: issue #4 goal, p50 within ${groupGoalMs} ms of the single-target AnyGate: ` +
      `${p50Gap <= groupGoalMs ? 'met' : '**missed**'} (${p50Gap >= 0 ? '+' : ''}${p50Gap.toFixed(2)} ms)`,
    anygate: merged.anygate.latency,
    direct: merged.direct.latency,
  }
}

/** Issue #8 goal at 1,000 req/s with the default config: what AnyGate adds over direct. */
const addedGoal = { rate: 1000, p50Ms: 0.5, p99Ms: 3 }

export async function fixedRateScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const results = []
  for (const rate of s.fixedRates) results.push({ rate, ...(await fixedRateAt(targets, s, rate)) })
  const notes = results.map((result) => result.note)
  const atGoalRate = results.find((result) => result.rate === addedGoal.rate)
  if (atGoalRate) {
    const p50 = atGoalRate.anygate.p50 - atGoalRate.direct.p50
    const p99 = atGoalRate.anygate.p99 - atGoalRate.direct.p99
    const met = p50 <= addedGoal.p50Ms && p99 <= addedGoal.p99Ms
    notes.push(
      `issue #8 goal at ${addedGoal.rate} req/s, added p50 ≤ ${addedGoal.p50Ms} ms and p99 ≤ ${addedGoal.p99Ms} ms: ` +
        `${met ? 'met' : '**missed**'} (+${p50.toFixed(2)} / +${p99.toFixed(2)} ms)`,
    )
  }
  return {
    rows: results.flatMap((result) => result.rows),
    note: notes.join('\n- '),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    group: {
      rows: results.flatMap((result) => result.groupRows),
      note:
        `${groupTargetName}: one public model over 3 openai-type providers (own pools, weights 3:2:1, ` +
        `strategy weighted) on the same fake upstream, measured in the rounds of scenario a; ` +
        results.map((result) => result.groupNote).join('; '),
    },
  }
}

/** The throughput scenarios' warm-up per target (settings.ts: throughputWarmupRequests). */
export const throughputWarmUp = (s: BenchSettings): WarmUpPlan => ({
  requests: s.throughputWarmupRequests,
  minSeconds: s.warmupSeconds,
  maxSeconds: s.throughputWarmupMaxSeconds,
})

/** How the throughput rounds were warmed up, for a scenario's note. */
const warmUpNote = (s: BenchSettings) =>
  `each target warmed up first until it served ${s.throughputWarmupRequests.toLocaleString('en-US')} requests (${s.throughputWarmupMaxSeconds} s at most)`

export async function throughputScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `b. non-stream, ${s.throughputConnections} connections`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    [...targetNames, ...peersIn(targets)],
    s.rounds,
    (target) => warmUpByRequests(target.origin, s.throughputConnections, throughputWarmUp(s), target.request),
    (target) => maxThroughput(target.origin, s.throughputConnections, seconds, target.request),
  )
  const merged = mapTargets(measured, mergeHttp)
  const served = namesOf(merged)
    .map((name) => `${name} ${merged[name].ok}`)
    .join(', ')
  const ofFloor = merged.anygate.requestsPerSecond / merged.floor.requestsPerSecond
  const portkey = merged.portkey?.requestsPerSecond
  const goal =
    `issue #8 goal, at least ${throughputGoal * 100}% of the floor's throughput` +
    `${portkey === undefined ? '' : " and more than Portkey's"}: ` +
    `${ofFloor >= throughputGoal && (portkey === undefined || merged.anygate.requestsPerSecond > portkey) ? 'met' : '**missed**'} ` +
    `(${(ofFloor * 100).toFixed(0)}% of the floor${portkey === undefined ? '' : `, ${(merged.anygate.requestsPerSecond / portkey).toFixed(2)}× Portkey`})`
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
    note: `${scenario}: ${s.durationSeconds} s per target in ${s.rounds} round(s), ${warmUpNote(s)}; requests served ${served}; ${failureNote(measured)}; ${goal}`,
    failed: totalFailed(measured),
  }
}

/** Scenario c: the stream load at each concurrency level, one after another. */
export async function streamScenario(
  targets: Targets,
  s: BenchSettings,
  expectedEvents: number,
): Promise<ScenarioOutcome> {
  const outcomes: ScenarioOutcome[] = []
  for (const concurrency of s.streamConcurrencies)
    outcomes.push(await streamScenarioAt(targets, s, expectedEvents, concurrency))
  return {
    rows: outcomes.flatMap((outcome) => outcome.rows),
    note: outcomes.map((outcome) => outcome.note).join('\n'),
    failed: outcomes.reduce((sum, outcome) => sum + outcome.failed, 0),
  }
}

async function streamScenarioAt(
  targets: Targets,
  s: BenchSettings,
  expectedEvents: number,
  concurrency: number,
): Promise<ScenarioOutcome> {
  const scenario = `c. stream ${s.streamChunks} chunks, ${concurrency === 1 ? 'one at a time' : `${concurrency} concurrent`}`
  const load = { concurrency, expectedEvents }
  // One at a time completes fewer streams per second: the same count would take far longer.
  const share = Math.min(1, concurrency / 8)
  const perRound = Math.max(10, Math.ceil((s.streamRequests * share) / s.rounds))
  const warmup = Math.max(8, Math.ceil(s.streamWarmupRequests * share))
  const peers = peersIn(targets).filter((name) => targets[name]?.streamFailure === undefined)
  const leftOut = peersIn(targets)
    .filter((name) => !peers.includes(name))
    .map((name) => `; ${name} left out (${targets[name]?.streamFailure})`)
    .join('')
  const measured = await measureInRounds<StreamLoadResult, TargetName | PeerName>(
    scenario,
    targets,
    [...targetNames, ...peers],
    s.rounds,
    (target) =>
      streamLoad(target.origin, {
        ...load,
        headers: target.request?.headers,
        requests: warmup,
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
  const addedTtfb = merged.anygate.ttfb.p50 - merged.direct.ttfb.p50
  // The goal is what the gateway adds to a stream's first byte: judged one stream at a time, since
  // with several at once and no pause between chunks the figure is queueing for a busy CPU (the
  // floor adds more than the goal there too).
  const ttfbGoal =
    concurrency === 1
      ? `issue #8 goal, TTFB p50 added under ${streamTtfbGoalMs} ms: ` +
        `${addedTtfb < streamTtfbGoalMs ? 'met' : '**missed**'} (+${addedTtfb.toFixed(2)} ms)`
      : `TTFB p50 added +${addedTtfb.toFixed(2)} ms (floor +${(merged.floor.ttfb.p50 - merged.direct.ttfb.p50).toFixed(2)} ms)`
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
      `usage chunk included; ${failureNote(measured)}; ${ttfbGoal}${leftOut}`,
    failed: totalFailed(measured),
  }
}

const stackTargetNames = [...targetNames, fullStackTargetName] as const

/**
 * Scenario g: the whole per-call stack at once (master key, a virtual key with rpm, tpm,
 * max_parallel and a budget, global_rpm, all on Redis; metrics; a public model over 3 weighted
 * targets) beside direct, the floor and the default AnyGate: latency at a fixed rate, then
 * throughput at the scenario b connection count.
 */
export async function stackScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `g. full stack @ ${s.stackRate} req/s and ${s.throughputConnections} connections`
  const names = [...stackTargetNames, ...peersIn(targets)]
  const seconds = s.durationSeconds / s.rounds
  const latency = await measureInRounds(
    `${scenario} (latency)`,
    targets,
    names,
    s.rounds,
    (target) => fixedRate(target.origin, s.stackRate, s.rateConnections, s.warmupSeconds, target.request),
    (target) => fixedRate(target.origin, s.stackRate, s.rateConnections, seconds, target.request),
  )
  const throughput = await measureInRounds(
    `${scenario} (throughput)`,
    targets,
    names,
    s.rounds,
    (target) => warmUpByRequests(target.origin, s.throughputConnections, throughputWarmUp(s), target.request),
    (target) => maxThroughput(target.origin, s.throughputConnections, seconds, target.request),
  )
  const lat = mapTargets(latency, mergeHttp)
  const tput = mapTargets(throughput, mergeHttp)
  const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
  const x = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')
  const rows = namesOf(lat).map((name) => {
    const l = lat[name].latency
    const rate = tput[name].requestsPerSecond
    return `| ${[
      name,
      fmt(l.p50),
      fmt(l.p99),
      name === 'direct' ? '—' : `+${fmt(l.p50 - lat.direct.latency.p50)}`,
      name === 'direct' ? '—' : `+${fmt(l.p99 - lat.direct.latency.p99)}`,
      x(l.p50 / lat.floor.latency.p50),
      Math.round(rate).toLocaleString('en-US'),
      x(rate / tput.direct.requestsPerSecond),
      x(rate / tput.floor.requestsPerSecond),
      fmt(tput[name].cpuMicrosPerRequest, 0),
    ].join(' | ')} |`
  })
  const note =
    `${scenario}: ${s.durationSeconds} s per target and load in ${s.rounds} round(s), for throughput ${warmUpNote(s)}; ` +
    `${fullStackTargetName} = auth (master key + virtual key), per-key rpm/tpm/max_parallel/budget and ` +
    `global_rpm on Redis (on_error deny), metrics, a public model over 3 weighted openai-type targets; ` +
    `latency: ${failureNote(latency)}; throughput: ${failureNote(throughput)}`
  return {
    rows: [],
    note,
    failed: totalFailed(latency) + totalFailed(throughput),
    section: [
      '### Full plugin stack',
      '',
      `| target | p50 @ ${s.stackRate} req/s (ms) | p99 (ms) | p50 − direct | p99 − direct | p50 ÷ floor | throughput @ ${s.throughputConnections} conn (req/s) | ÷ direct | ÷ floor | server CPU per request (µs) |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `- ${note}`,
    ].join('\n'),
  }
}
