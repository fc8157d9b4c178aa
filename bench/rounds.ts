// Measuring several targets under the same load: every target is warmed up first (results
// discarded), then measured in rounds taken in turn (direct, floor, anygate, direct, floor...), so a
// noisy neighbour on the machine weighs on all alike. Only one target is under load at a time.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildServer } from './child-server.js'
import type { HttpLoadResult, LoadRequest } from './http-load.js'
import { spread } from './percentiles.js'
import type { BenchTargetName } from './report.js'

export interface Target {
  origin: string
  /** The process serving the target, whose CPU time is charged to it. */
  server: ChildServer
  /** What every request to this target carries, e.g. the virtual key of a stack variant. */
  request?: LoadRequest
  /** A peer whose streamed answer failed the start-up check: left out of the stream scenario. */
  streamFailure?: string
}

/** The targets this run started: only those the selected scenarios need. */
export type Targets = Partial<Record<BenchTargetName, Target>>

export function targetNamed(targets: Targets, name: BenchTargetName): Target {
  const target = targets[name]
  if (!target) throw new Error(`bench target ${name} was not started`)
  return target
}

export interface Measured<T> {
  runs: T[]
  /** CPU the target's own process spent during the measured runs, warm-ups excluded. */
  cpuMicros: number
}

export interface Counted {
  failed: number
  firstFailure?: string
}

export const progress = (text: string) => process.stderr.write(`${text}\n`)

export const namesOf = <N extends string>(results: Record<N, unknown>) => Object.keys(results) as N[]

export function mapTargets<N extends string, T, U>(
  results: Record<N, T>,
  map: (result: T) => U,
): Record<N, U> {
  return Object.fromEntries(namesOf(results).map((name) => [name, map(results[name])])) as Record<N, U>
}

export async function measureInRounds<T, N extends BenchTargetName>(
  label: string,
  targets: Targets,
  names: readonly N[],
  rounds: number,
  warmUp: (target: Target) => Promise<unknown>,
  measure: (target: Target) => Promise<T>,
): Promise<Record<N, Measured<T>>> {
  const measured = Object.fromEntries(
    names.map((name): [N, Measured<T>] => [name, { runs: [], cpuMicros: 0 }]),
  ) as Record<N, Measured<T>>
  for (const name of names) {
    progress(`  ${label}: warming up ${name}`)
    await warmUp(targetNamed(targets, name))
  }
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      progress(`  ${label}: ${name}, round ${round}/${rounds}`)
      const target = targetNamed(targets, name)
      const cpuBefore = await target.server.cpuMicros()
      measured[name].runs.push(await measure(target))
      measured[name].cpuMicros += (await target.server.cpuMicros()) - cpuBefore
      // Lets GC, sockets and the upstream's backlog settle before the next target.
      await sleep(200)
    }
  }
  return measured
}

export function failureNote<N extends BenchTargetName>(results: Record<N, Measured<Counted>>): string {
  const lines = namesOf(results).flatMap((name) => {
    const failed = results[name].runs.reduce((sum, run) => sum + run.failed, 0)
    if (failed === 0) return []
    const reason = results[name].runs.find((run) => run.firstFailure)?.firstFailure
    return [`**${name}: ${failed} failed**${reason ? ` (first: ${reason})` : ''}`]
  })
  return lines.length === 0 ? 'no failures' : lines.join(', ')
}

export const totalFailed = <N extends BenchTargetName>(results: Record<N, Measured<Counted>>) =>
  namesOf(results).reduce((sum, name) => sum + results[name].runs.reduce((s, run) => s + run.failed, 0), 0)

export function mergeHttp(measured: Measured<HttpLoadResult>) {
  const ok = measured.runs.reduce((sum, run) => sum + run.ok, 0)
  const seconds = measured.runs.reduce((sum, run) => sum + run.seconds, 0)
  return {
    latency: spread(measured.runs.flatMap((run) => run.latenciesMs)),
    ok,
    requestsPerSecond: ok / seconds,
    cpuMicrosPerRequest: measured.cpuMicros / ok,
  }
}

export type MergedHttp = ReturnType<typeof mergeHttp>
