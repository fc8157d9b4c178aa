// The three scenarios. Every target is warmed up first (results discarded), then measured in rounds
// taken in turn: direct, floor, anygate, direct, floor... Only one target is under load at a time.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildServer } from './child-server.js'
import { fixedRate, type HttpLoadResult, maxThroughput } from './http-load.js'
import { spread } from './percentiles.js'
import { type ReportRow, type TargetName, targetNames } from './report.js'
import type { BenchSettings } from './settings.js'
import { type StreamLoadResult, streamLoad } from './stream-load.js'

export interface Target {
  origin: string
  /** The process serving the target, whose CPU time is charged to it. */
  server: ChildServer
}

export type Targets = Record<TargetName, Target>

export interface ScenarioOutcome {
  rows: ReportRow[]
  /** Achieved load and failures: the conditions the rows were measured under. */
  note: string
  failed: number
}

interface Measured<T> {
  runs: T[]
  /** CPU the target's own process spent during the measured runs, warm-ups excluded. */
  cpuMicros: number
}

const progress = (text: string) => process.stderr.write(`${text}\n`)

function mapTargets<T, U>(results: Record<TargetName, T>, map: (result: T) => U): Record<TargetName, U> {
  return { direct: map(results.direct), floor: map(results.floor), anygate: map(results.anygate) }
}

async function measureInRounds<T>(
  label: string,
  targets: Targets,
  rounds: number,
  warmUp: (origin: string) => Promise<unknown>,
  measure: (origin: string) => Promise<T>,
): Promise<Record<TargetName, Measured<T>>> {
  const measured = mapTargets(targets, (): Measured<T> => ({ runs: [], cpuMicros: 0 }))
  for (const name of targetNames) {
    progress(`  ${label}: warming up ${name}`)
    await warmUp(targets[name].origin)
  }
  for (let round = 1; round <= rounds; round++) {
    for (const name of targetNames) {
      progress(`  ${label}: ${name}, round ${round}/${rounds}`)
      const { origin, server } = targets[name]
      const cpuBefore = await server.cpuMicros()
      measured[name].runs.push(await measure(origin))
      measured[name].cpuMicros += (await server.cpuMicros()) - cpuBefore
      // Lets GC, sockets and the upstream's backlog settle before the next target.
      await sleep(200)
    }
  }
  return measured
}

interface Counted {
  failed: number
  firstFailure?: string
}

function failureNote(results: Record<TargetName, Measured<Counted>>): string {
  const lines = targetNames.flatMap((name) => {
    const failed = results[name].runs.reduce((sum, run) => sum + run.failed, 0)
    if (failed === 0) return []
    const reason = results[name].runs.find((run) => run.firstFailure)?.firstFailure
    return [`**${name}: ${failed} failed**${reason ? ` (first: ${reason})` : ''}`]
  })
  return lines.length === 0 ? 'no failures' : lines.join(', ')
}

const totalFailed = (results: Record<TargetName, Measured<Counted>>) =>
  targetNames.reduce((sum, name) => sum + results[name].runs.reduce((s, run) => s + run.failed, 0), 0)

function mergeHttp(measured: Measured<HttpLoadResult>) {
  const ok = measured.runs.reduce((sum, run) => sum + run.ok, 0)
  const seconds = measured.runs.reduce((sum, run) => sum + run.seconds, 0)
  return {
    latency: spread(measured.runs.flatMap((run) => run.latenciesMs)),
    ok,
    requestsPerSecond: ok / seconds,
    cpuMicrosPerRequest: measured.cpuMicros / ok,
  }
}

function cpuRow(scenario: string, metric: string, values: Record<TargetName, number>): ReportRow {
  return { scenario, metric, unit: 'µs', values }
}

export async function fixedRateScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `a. non-stream @ ${s.fixedRate} req/s`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    s.rounds,
    (origin) => fixedRate(origin, s.fixedRate, s.rateConnections, s.warmupSeconds),
    (origin) => fixedRate(origin, s.fixedRate, s.rateConnections, seconds),
  )
  const merged = mapTargets(measured, mergeHttp)
  const achieved = targetNames
    .map((name) => `${name} ${Math.round(merged[name].requestsPerSecond)}`)
    .join(', ')
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
  }
}

export async function throughputScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `b. non-stream, ${s.throughputConnections} connections`
  const seconds = s.durationSeconds / s.rounds
  const measured = await measureInRounds(
    scenario,
    targets,
    s.rounds,
    (origin) => maxThroughput(origin, s.throughputConnections, s.warmupSeconds),
    (origin) => maxThroughput(origin, s.throughputConnections, seconds),
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
  const measured = await measureInRounds<StreamLoadResult>(
    scenario,
    targets,
    s.rounds,
    (origin) => streamLoad(origin, { ...load, requests: s.streamWarmupRequests }),
    (origin) => streamLoad(origin, { ...load, requests: perRound }),
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
