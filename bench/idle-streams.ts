// Scenario f: many streams open at once, each idle after its first chunk (a model thinking, a client
// reading slowly). What it costs the gateway to hold them: resident memory, event-loop lag (both read
// inside the server's process over IPC), and the latency of plain requests sent meanwhile.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, Pool } from 'undici'
import { chatPath, chatRequestBody, idleStreamRequestBody, jsonHeaders } from './chat-payloads.js'
import type { LoadRequest } from './http-load.js'
import { type Spread, spread } from './percentiles.js'
import { progress, type Target, type Targets, targetNamed } from './rounds.js'
import type { ScenarioOutcome } from './scenarios.js'
import type { BenchSettings } from './settings.js'

export interface OpenStreams {
  opened: number
  failed: number
  firstFailure?: string
  /** Ends every stream (the client goes away) and closes the sockets. */
  close(): Promise<void>
}

/** Streams opened at once: a thousand connects in one burst would measure the accept queue. */
const openBatch = 100

/** Opens `count` streams, each counted as open once its first body chunk arrived. */
export async function openIdleStreams(
  origin: string,
  count: number,
  request: LoadRequest = {},
  timeoutMs = 30_000,
): Promise<OpenStreams> {
  const pool = new Pool(origin, { connections: count, bodyTimeout: 0, headersTimeout: timeoutMs })
  const bodies: { destroy(): void }[] = []
  const headers = { ...jsonHeaders, ...request.headers }
  const result = { opened: 0, failed: 0, firstFailure: undefined as string | undefined }
  async function openOne(): Promise<void> {
    try {
      const { statusCode, body } = await pool.request({
        method: 'POST',
        path: chatPath,
        headers,
        body: idleStreamRequestBody,
      })
      bodies.push(body)
      if (statusCode !== 200) throw new Error(`status ${statusCode}`)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no first chunk')), timeoutMs)
        body.once('data', () => {
          clearTimeout(timer)
          // Paused after the first chunk: nothing more is expected, and nothing is read.
          body.pause()
          resolve()
        })
        body.once('error', reject)
      })
      result.opened++
    } catch (err) {
      result.failed++
      result.firstFailure ??= (err as Error).message
    }
  }
  for (let started = 0; started < count; started += openBatch) {
    await Promise.all(Array.from({ length: Math.min(openBatch, count - started) }, openOne))
  }
  return {
    ...result,
    async close() {
      for (const body of bodies) body.destroy()
      await pool.destroy()
    },
  }
}

/** Plain chat requests one after another every `gapMs` for `seconds`: the latency others see meanwhile. */
export async function probeLatency(target: Target, seconds: number, gapMs = 20): Promise<Spread> {
  const client = new Client(target.origin)
  const latencies: number[] = []
  const headers = { ...jsonHeaders, ...target.request?.headers }
  const until = performance.now() + seconds * 1000
  try {
    while (performance.now() < until) {
      const started = performance.now()
      const { statusCode, body } = await client.request({
        method: 'POST',
        path: chatPath,
        headers,
        body: chatRequestBody,
      })
      await body.dump()
      // The first request also paid for the connect.
      if (statusCode === 200) latencies.push(performance.now() - started)
      await sleep(gapMs)
    }
  } finally {
    await client.close()
  }
  return spread(latencies.slice(1))
}

export interface IdleMeasure {
  opened: number
  failed: number
  firstFailure?: string
  rssBeforeBytes: number
  rssHoldingBytes: number
  lagP99Ms: number
  lagMaxMs: number
  probe: Spread
}

/** Opens the streams against one target, holds them while probing, then closes them. */
export async function measureIdleStreams(
  name: string,
  target: Target,
  count: number,
  holdSeconds: number,
): Promise<IdleMeasure> {
  // The first ask starts the child's lag monitor; its memory figure is the baseline.
  const before = await target.server.vitals(false)
  progress(`  f. idle streams: opening ${count} streams to ${name}`)
  const streams = await openIdleStreams(target.origin, count, target.request)
  try {
    // Resets the lag window: opening is not holding.
    await target.server.vitals(false)
    progress(`  f. idle streams: ${streams.opened} open on ${name}, holding ${holdSeconds} s`)
    const probe = await probeLatency(target, holdSeconds)
    const holding = await target.server.vitals(false)
    return {
      opened: streams.opened,
      failed: streams.failed,
      firstFailure: streams.firstFailure,
      rssBeforeBytes: before.rssBytes,
      rssHoldingBytes: holding.rssBytes,
      lagP99Ms: holding.lag?.p99Ms ?? Number.NaN,
      lagMaxMs: holding.lag?.maxMs ?? Number.NaN,
      probe,
    }
  } finally {
    await streams.close()
    // Lets the servers notice the closed sockets before the next target is loaded.
    await sleep(500)
  }
}

const idleTargets = ['direct', 'floor-wide', 'anygate-wide'] as const

/** Issue #8 goal: AnyGate's RSS while holding 1,000 open streams. */
const rssGoalMb = 150

const mb = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(1) : 'n/a')
const fixed = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a')
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')

export async function idleScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `f. ${s.idleStreams} idle streams`
  const results = {} as Record<(typeof idleTargets)[number], IdleMeasure>
  for (const name of idleTargets) {
    results[name] = await measureIdleStreams(
      name,
      targetNamed(targets, name),
      s.idleStreams,
      s.idleHoldSeconds,
    )
  }
  const { direct, 'floor-wide': floor } = results
  const lines = idleTargets.map((name) => {
    const r = results[name]
    const perStreamKb = (r.rssHoldingBytes - r.rssBeforeBytes) / Math.max(1, r.opened) / 1024
    return `| ${[
      name,
      `${r.opened}`,
      mb(r.rssBeforeBytes),
      mb(r.rssHoldingBytes),
      Number.isFinite(perStreamKb) ? perStreamKb.toFixed(1) : 'n/a',
      fixed(r.lagP99Ms),
      fixed(r.lagMaxMs),
      fixed(r.probe.p50),
      fixed(r.probe.p99),
      ratio(r.probe.p50 / direct.probe.p50),
      ratio(r.probe.p50 / floor.probe.p50),
      ratio(r.rssHoldingBytes / floor.rssHoldingBytes),
    ].join(' | ')} |`
  })
  const anygate = results['anygate-wide']
  const failed = idleTargets.reduce((sum, name) => sum + results[name].failed, 0)
  const failures = idleTargets
    .filter((name) => results[name].failed > 0)
    .map((name) => `**${name}: ${results[name].failed} failed** (first: ${results[name].firstFailure})`)
  const rssMb = anygate.rssHoldingBytes / 2 ** 20
  const note =
    `${scenario}: each stream gets its first chunk from the fake upstream, then nothing until the client ` +
    `leaves; held ${s.idleHoldSeconds} s while one plain request every 20 ms probes the latency; ` +
    `RSS and event-loop lag (beyond the 10 ms monitor resolution) read inside each server's process; ` +
    `floor-wide and anygate-wide have ${'1,024'} upstream sockets (the default 256 would queue the rest); ` +
    `${failures.length > 0 ? failures.join(', ') : 'no failures'}; issue #8 goal, AnyGate RSS under ` +
    `${rssGoalMb} MB with the streams open: ${rssMb < rssGoalMb && anygate.opened === s.idleStreams ? 'met' : '**missed**'} ` +
    `(${rssMb.toFixed(1)} MB)`
  return {
    rows: [],
    note,
    failed,
    section: [
      '### Idle streams',
      '',
      '| target | streams open | RSS before (MB) | RSS holding (MB) | per stream (KB) | loop lag p99 (ms) | loop lag max (ms) | probe p50 (ms) | probe p99 (ms) | probe p50 ÷ direct | probe p50 ÷ floor | RSS ÷ floor |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...lines,
      '',
      `- ${note}`,
    ].join('\n'),
  }
}
