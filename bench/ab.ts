// `npm run bench:ab -- [options] <build>[=label] ...`: CPU per call of two or more AnyGate builds at
// 32 connections (or per 50-chunk stream, with --stream), each divided by the floor's in the same
// cycle. One full `npm run bench` run
// cannot tell a 3% change from the machine's drift between rounds, nor one gateway process from
// another (identical processes have differed by ±12%), so this keeps every server alive, loads them
// one after another in many short interleaved cycles, runs several processes per build, and reports
// medians. A build is a directory holding an AnyGate `dist` (e.g. a `git worktree` of another
// revision after `npm ci && npm run build`), or `.` for this one; each runs with its own Node flags.
import { cpus, platform } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expectedStreamEvents } from './chat-payloads.js'
import type { ServerSpec } from './child-protocol.js'
import { type ChildServer, forkServer } from './child-server.js'
import { describePlan, pinPlan, pinProcess } from './cpu-pinning.js'
import { maxThroughput, warmUpByRequests } from './http-load.js'
import { throughputWarmUp } from './scenarios.js'
import { readSettings } from './settings.js'
import { streamLoad } from './stream-load.js'

export interface AbBuild {
  /** The `dist` directory: it holds bench/child-server.js. */
  dir: string
  label: string
}

export interface AbSettings {
  cycles: number
  seconds: number
  /** Gateway processes per build. */
  processes: number
  connections: number
  /** Streamed calls instead of JSON ones: `streams` per server and cycle, `connections` at a time. */
  stream: boolean
  streams: number
  /** The fake upstream's pause between chunks: with a pause, each chunk is a read of its own. */
  chunkDelayMs: number
  builds: AbBuild[]
}

const usage =
  'usage: npm run bench:ab -- [--cycles=12] [--seconds=3] [--processes=2] [--connections=32] ' +
  '[--stream [--streams=200] [--chunk-delay-ms=0]] <dist dir>[=label] <dist dir>[=label] ...'

function wholeNumber(name: string, value: string, least: number): number {
  const parsed = Number(value)
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < least)
    throw new Error(`--${name}: a whole number of at least ${least}, not "${value}"`)
  return parsed
}

type CountOption = 'cycles' | 'seconds' | 'processes' | 'connections' | 'streams'

/** Pure: argv in, settings out. `.` stands for the build this script belongs to (`self`). */
export function parseAbArgs(argv: readonly string[], self: string): AbSettings {
  const settings: AbSettings = {
    cycles: 12,
    seconds: 3,
    processes: 2,
    connections: 32,
    stream: false,
    streams: 200,
    chunkDelayMs: 0,
    builds: [],
  }
  for (const arg of argv) {
    const option = /^--(cycles|seconds|processes|connections|streams)=(.*)$/.exec(arg)
    if (option) {
      settings[option[1] as CountOption] = wholeNumber(option[1]!, option[2]!, 1)
      continue
    }
    if (arg === '--stream') {
      settings.stream = true
      continue
    }
    if (arg.startsWith('--chunk-delay-ms=')) {
      settings.chunkDelayMs = wholeNumber('chunk-delay-ms', arg.slice('--chunk-delay-ms='.length), 0)
      continue
    }
    if (arg.startsWith('--')) throw new Error(`unknown option "${arg}"; ${usage}`)
    const at = arg.indexOf('=')
    const path = at < 0 ? arg : arg.slice(0, at)
    const dir = path === '.' ? self : resolve(path)
    const label = at < 0 ? (path === '.' ? 'this build' : path) : arg.slice(at + 1)
    if (settings.builds.some((build) => build.label === label))
      throw new Error(`two builds labelled "${label}"`)
    settings.builds.push({ dir, label })
  }
  if (settings.builds.length === 0) throw new Error(`no build to measure; ${usage}`)
  return settings
}

/**
 * One cycle's figure for each gateway process, by build label, and the floor's: µs of CPU per call
 * (or per stream), or a stream's median time to first byte in µs.
 */
export interface AbCycle {
  floorMicros: number
  /** The figure of each process of the build. */
  micros: Record<string, number[]>
}

export interface AbRow {
  label: string
  /** CPU per call ÷ the floor's, the median over cycles (each cycle: the mean of the build's processes). */
  median: number
  min: number
  max: number
  /** Per cycle, this build's ratio ÷ the first build's; the median (1 for the first build). */
  ofFirst: number
  /** Cycles in which this build used less CPU per call than the first build, and more (ties in neither). */
  lower: number
  higher: number
  /** Two-sided exact sign test of lower against higher (1 for the first build): see signTestP. */
  p: number
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * Two-sided exact sign test: the chance of a split at least this uneven between `lower` and `higher`
 * if each cycle were a coin flip. A median can move by the machine's drift alone (cycles on one busy
 * machine have differed by ±50%); the test asks only how often a build came out ahead within the same
 * cycle, where the drift hits every build alike. Hand-written: a binomial tail is a few lines.
 */
export function signTestP(lower: number, higher: number): number {
  const n = lower + higher
  if (n === 0) return 1
  const k = Math.min(lower, higher)
  // Σ_{i ≤ k} C(n, i) / 2^n, term by term in log space (2^-n underflows past n = 1074).
  let logTerm = -n * Math.LN2
  let tail = 0
  for (let i = 0; i <= k; i++) {
    tail += Math.exp(logTerm)
    logTerm += Math.log((n - i) / (i + 1))
  }
  return Math.min(1, 2 * tail)
}

/** Pure: the cycles in, one row per build (in the order given) out. */
export function summarizeAb(labels: readonly string[], cycles: readonly AbCycle[]): AbRow[] {
  const ratios = (label: string) => cycles.map((cycle) => mean(cycle.micros[label] ?? []) / cycle.floorMicros)
  const first = ratios(labels[0]!)
  return labels.map((label) => {
    const own = ratios(label)
    const lower = own.filter((ratio, i) => ratio < first[i]!).length
    const higher = own.filter((ratio, i) => ratio > first[i]!).length
    return {
      label,
      median: median(own),
      min: Math.min(...own),
      max: Math.max(...own),
      ofFirst: median(own.map((ratio, i) => ratio / first[i]!)),
      lower,
      higher,
      p: signTestP(lower, higher),
    }
  })
}

const formatP = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3))

/** `figure`: what the rows compare, e.g. 'CPU per call' or 'time to first byte p50'. */
export function abTable(rows: readonly AbRow[], figure = 'CPU per call'): string {
  const lines = [
    `| build | ${figure} ÷ floor (median) | min – max | ÷ first build (median of cycles) | cycles below / above the first | sign test p |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ]
  rows.forEach((row, index) => {
    const versus = index === 0 ? '— | —' : `${row.lower} / ${row.higher} | ${formatP(row.p)}`
    lines.push(
      `| ${row.label} | ${row.median.toFixed(3)}× | ${row.min.toFixed(2)} – ${row.max.toFixed(2)} | ${row.ofFirst.toFixed(3)}× | ${versus} |`,
    )
  })
  return lines.join('\n')
}

type Fork = (spec: ServerSpec) => Promise<ChildServer>

async function forkerOf(dir: string): Promise<Fork> {
  const module = (await import(pathToFileURL(join(dir, 'bench', 'child-server.js')).href)) as {
    forkServer: Fork
  }
  return (spec) => module.forkServer(spec)
}

interface Running {
  label: string
  server: ChildServer
}

/** The fake upstream's chunks per streamed answer (the stream scenario's default). */
const streamChunks = 50

interface Loaded {
  ok: number
  failed: number
  firstFailure?: string
  /** Streams only: each stream's time to first byte. */
  ttfbMs?: number[]
}

async function load(origin: string, settings: AbSettings, requests = settings.streams): Promise<Loaded> {
  if (!settings.stream) return maxThroughput(origin, settings.connections, settings.seconds)
  const result = await streamLoad(origin, {
    requests,
    concurrency: settings.connections,
    expectedEvents: expectedStreamEvents(streamChunks),
  })
  return {
    ok: result.ttfbMs.length,
    failed: result.failed,
    firstFailure: result.firstFailure,
    ttfbMs: result.ttfbMs,
  }
}

/** One server's figures in one cycle: CPU per call, and for streams the median time to first byte (µs). */
async function measure(server: ChildServer, settings: AbSettings): Promise<{ cpu: number; ttfb: number }> {
  const before = await server.cpuMicros()
  const result = await load(server.origin, settings)
  const used = (await server.cpuMicros()) - before
  if (result.failed > 0) throw new Error(`${result.failed} failed requests: ${result.firstFailure ?? ''}`)
  return { cpu: used / result.ok, ttfb: result.ttfbMs ? median(result.ttfbMs) * 1000 : Number.NaN }
}

/** The JIT's work is not what is compared: JSON calls as npm run bench warms up (settings.ts), or streams. */
async function warmUp(server: ChildServer, settings: AbSettings): Promise<void> {
  if (!settings.stream) {
    await warmUpByRequests(server.origin, settings.connections, throughputWarmUp(readSettings(process.env)))
    return
  }
  const result = await load(server.origin, settings, Math.max(1_000, settings.streams * 5))
  if (result.failed > 0)
    throw new Error(`warm-up: ${result.failed} failed streams: ${result.firstFailure ?? ''}`)
}

async function main(): Promise<void> {
  const self = join(fileURLToPath(new URL('.', import.meta.url)), '..')
  const settings = parseAbArgs(process.argv.slice(2), self)
  const plan = pinPlan(cpus().length, platform(), process.env)
  const upstream = await forkServer({
    kind: 'fake-upstream',
    options: { chunks: streamChunks, chunkDelayMs: settings.chunkDelayMs },
  })
  const floor = await forkServer({ kind: 'floor', options: { upstreamOrigin: upstream.origin } })
  const gateways: Running[] = []
  const all = [upstream, floor]
  try {
    for (const build of settings.builds) {
      const fork = await forkerOf(build.dir)
      for (let i = 0; i < settings.processes; i++) {
        const server = await fork({ kind: 'anygate', options: { upstreamOrigin: upstream.origin } })
        all.push(server)
        gateways.push({ label: build.label, server })
      }
    }
    let pinned = false
    if (plan) {
      const results = await Promise.all([
        pinProcess(process.pid, plan.load),
        pinProcess(upstream.pid, plan.load),
        ...[floor, ...gateways.map((g) => g.server)].map((server) => pinProcess(server.pid, plan.servers)),
      ])
      pinned = results.every(Boolean)
    }
    process.stderr.write(`bench:ab: ${describePlan(plan, pinned)}\n`)
    for (const server of [floor, ...gateways.map((g) => g.server)]) await warmUp(server, settings)
    const cycles: AbCycle[] = []
    const ttfbCycles: AbCycle[] = []
    for (let c = 0; c < settings.cycles; c++) {
      const floorFigures = await measure(floor, settings)
      const cycle: AbCycle = { floorMicros: floorFigures.cpu, micros: {} }
      const ttfbCycle: AbCycle = { floorMicros: floorFigures.ttfb, micros: {} }
      for (const build of settings.builds) {
        cycle.micros[build.label] = []
        ttfbCycle.micros[build.label] = []
      }
      for (const gateway of gateways) {
        const figures = await measure(gateway.server, settings)
        cycle.micros[gateway.label]!.push(figures.cpu)
        ttfbCycle.micros[gateway.label]!.push(figures.ttfb)
      }
      cycles.push(cycle)
      ttfbCycles.push(ttfbCycle)
      const ratios = Object.entries(cycle.micros)
        .map(([label, micros]) => `${label} ${(mean(micros) / cycle.floorMicros).toFixed(2)}×`)
        .join(', ')
      process.stderr.write(
        `bench:ab: cycle ${c + 1}/${settings.cycles}: floor ${cycle.floorMicros.toFixed(1)} µs; ${ratios}\n`,
      )
    }
    const labels = settings.builds.map((build) => build.label)
    const perCycle = settings.stream
      ? `${settings.streams} streams of ${streamChunks} chunks (${settings.chunkDelayMs} ms apart) per server, ${settings.connections} at a time`
      : `${settings.seconds} s per server at ${settings.connections} connections`
    // For streams, the time to first byte the same way: each process's median, over the floor's.
    const ttfb = settings.stream
      ? `\n\n${abTable(summarizeAb(labels, ttfbCycles), 'time to first byte p50')}`
      : ''
    process.stdout.write(
      `${abTable(summarizeAb(labels, cycles), settings.stream ? 'CPU per stream' : 'CPU per call')}${ttfb}\n\n- ${settings.cycles} cycles of ${perCycle}, ${settings.processes} process(es) per build; CPU = user + system of the server's process per ${settings.stream ? 'stream' : 'request'} served${settings.stream ? "; time to first byte = the first SSE event, each process's median over its streams" : ''}; a build differs from the first only where the sign test's p is small (say under 0.05): a median alone moves with the machine\n`,
    )
  } finally {
    await Promise.all(all.map((server) => server.stop()))
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:ab: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
