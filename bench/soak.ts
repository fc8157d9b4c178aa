// `npm run soak`: AnyGate under moderate mixed load with faults, for SOAK_SECONDS (default 600).
// The soak upstream and the gateway each run in a forked process (bench/serve-in-child.ts); this
// process generates the load and checks every answer. Memory is measured with the load paused and
// garbage collected, at the end of the warm-up and at the end; exit code 1 when the heap grew more
// than allowed, a request ended in a way its plan does not allow, or a call was left in flight.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { type ChildServer, forkServer } from './child-server.js'
import { type ClientContext, sendPlanned } from './soak-client.js'
import { type SoakSecrets, secretsToEnv } from './soak-gateway.js'
import { createSoakLoad, type SoakLoad } from './soak-load.js'
import { requestKinds, seededRandom } from './soak-plan.js'
import { type Checkpoint, parseInflight, renderSoakReport, soakFailures } from './soak-report.js'
import { readSoakSettings, type SoakSettings } from './soak-settings.js'
import { pendingOf, totalOf } from './soak-tally.js'
import { idleSocketSeconds } from './soak-upstream.js'
import type { LagWindow, ProcessVitals } from './soak-vitals.js'

const progress = (text: string) => process.stderr.write(`${text}\n`)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** Longest wait for running requests to end: a call faulted on every attempt ends within the gateway's deadline. */
const drainTimeoutMs = 30_000
/** How long the in-flight gauges get to come back to 0 once no request is running. */
const idleTimeoutMs = 10_000

/** One socket per concurrent request, kept alive like any SDK's agent. */
function newPool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    keepAliveTimeout: 30_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  })
}

function newSecrets(): SoakSecrets {
  const key = (prefix: string) => `${prefix}-${randomBytes(16).toString('hex')}`
  return {
    masterKey: key('soak-master'),
    clientKey: key('soak-client'),
    providerKeys: [key('sk-soak-upstream-a'), key('sk-soak-upstream-b')],
  }
}

/** One healthy request of each kind before any load: a broken setup fails here, with its reason. */
async function preflight(context: ClientContext): Promise<void> {
  for (const kind of requestKinds) {
    const result = await sendPlanned(context, { seq: 0, kind })
    if (result.outcome !== 'ok') throw new Error(`preflight ${kind}: ${result.problem ?? result.outcome}`)
  }
}

async function inflightGauges(origin: string, masterKey: string): Promise<Record<string, number>> {
  const { statusCode, body } = await request(`${origin}/metrics`, {
    headers: { authorization: `Bearer ${masterKey}` },
  })
  const text = await body.text()
  if (statusCode !== 200) throw new Error(`/metrics answered ${statusCode}: ${text.slice(0, 200)}`)
  return parseInflight(text)
}

/** Polls the gauges until every one is 0 or the time is up; returns the last reading. */
async function waitForIdleGauges(origin: string, masterKey: string): Promise<Record<string, number>> {
  const deadline = performance.now() + idleTimeoutMs
  for (;;) {
    const gauges = await inflightGauges(origin, masterKey)
    const busy = Object.values(gauges).some((value) => value !== 0)
    if (!busy || performance.now() > deadline) return gauges
    await sleep(200)
  }
}

interface Sampler {
  /** Samples the gateway every sampleSeconds for `seconds`; returns the lag windows seen. */
  run(seconds: number, label: string): Promise<LagWindow[]>
}

function createSampler(
  gateway: ChildServer,
  load: SoakLoad,
  settings: SoakSettings,
  startedAt: number,
): Sampler {
  // The gateway's CPU share since the previous sample tells its own load from the machine's: high
  // lag at a low share means other processes held the cores.
  let cpuBefore = { micros: 0, at: performance.now() }
  const cpuShare = async () => {
    const now = { micros: await gateway.cpuMicros(), at: performance.now() }
    const share = (now.micros - cpuBefore.micros) / 1000 / (now.at - cpuBefore.at)
    cpuBefore = now
    return `${(share * 100).toFixed(0)}%`
  }
  const line = (label: string, vitals: ProcessVitals, cpu: string) => {
    const { tally } = load
    const elapsed = ((performance.now() - startedAt) / 1000).toFixed(0)
    const lag = vitals.lag
      ? `lag p99 ${vitals.lag.p99Ms.toFixed(1)} ms, max ${vitals.lag.maxMs.toFixed(1)} ms`
      : 'lag —'
    progress(
      `  ${label} ${elapsed}s: sent ${totalOf(tally, 'sent')}, in flight ${load.inFlight()}, ` +
        `unexpected ${totalOf(tally, 'unexpected')}; gateway cpu ${cpu}, rss ${mb(vitals.rssBytes)}, ` +
        `heapUsed ${mb(vitals.heapUsedBytes)}, ${lag}`,
    )
  }
  return {
    async run(seconds, label) {
      const windows: LagWindow[] = []
      const end = performance.now() + seconds * 1000
      for (;;) {
        const left = end - performance.now()
        if (left <= 0) return windows
        await sleep(Math.min(left, settings.sampleSeconds * 1000))
        const vitals = await gateway.vitals(false)
        if (vitals.lag) windows.push(vitals.lag)
        line(label, vitals, await cpuShare())
      }
    },
  }
}

/**
 * Pauses the load, lets every connection close, collects garbage in the gateway and reads its
 * memory, then restarts the lag window. Without the quiet, the sockets a burst happened to open
 * (held per connection, bounded by the peak, not a leak) would weigh on one checkpoint only.
 */
async function checkpoint(
  gateway: ChildServer,
  load: SoakLoad,
  context: ClientContext,
  connections: number,
): Promise<{ point: Checkpoint; drained: boolean }> {
  const drained = await load.pause(drainTimeoutMs)
  await context.pool.close()
  context.pool = newPool(gateway.origin, connections)
  // The soak upstream closes idle sockets after idleSocketSeconds; the gateway's pools follow.
  await sleep((idleSocketSeconds + 1.5) * 1000)
  const vitals = await gateway.vitals(true)
  // The forced GC paused the gateway's loop: let the monitor record that, then drop the window.
  await sleep(200)
  await gateway.vitals(false)
  return {
    point: {
      rssBytes: vitals.rssBytes,
      heapUsedBytes: vitals.heapUsedBytes,
      codeBytes: vitals.codeBytes,
      gcForced: vitals.gcForced,
    },
    drained,
  }
}

async function soak(settings: SoakSettings): Promise<boolean> {
  const secrets = newSecrets()
  progress(
    `soak: ${settings.seconds} s at ${settings.rate} req/s, warm-up ${settings.warmupSeconds} s, seed ${settings.seed}`,
  )
  const upstream = await forkServer({
    kind: 'soak-upstream',
    options: { chunks: settings.mix.streamChunks, chunkDelayMs: settings.chunkDelayMs },
  })
  let gateway: ChildServer | undefined
  let context: ClientContext | undefined
  try {
    gateway = await forkServer(
      { kind: 'soak-gateway', options: { upstreamOrigin: upstream.origin } },
      secretsToEnv(secrets),
      { execArgv: ['--expose-gc'] },
    )
    context = {
      pool: newPool(gateway.origin, settings.maxInFlight),
      clientKey: secrets.clientKey,
      secrets: [secrets.masterKey, secrets.clientKey, ...secrets.providerKeys],
      streamChunks: settings.mix.streamChunks,
    }
    await preflight(context)
    const load = createSoakLoad(
      context,
      { rate: settings.rate, maxInFlight: settings.maxInFlight, mix: settings.mix },
      seededRandom(settings.seed),
    )
    const sampler = createSampler(gateway, load, settings, performance.now())
    // Starts the gateway's lag monitor, so the first window is a whole one.
    await gateway.vitals(false)

    load.start()
    await sampler.run(settings.warmupSeconds, 'warm-up')
    const start = await checkpoint(gateway, load, context, settings.maxInFlight)
    progress(
      `  after warm-up: heapUsed after GC ${mb(start.point.heapUsedBytes)}, rss ${mb(start.point.rssBytes)}`,
    )

    load.start()
    const windows = await sampler.run(settings.seconds - settings.warmupSeconds, 'soak')
    const end = await checkpoint(gateway, load, context, settings.maxInFlight)
    const inflight = await waitForIdleGauges(gateway.origin, secrets.masterKey)
    progress(`  end: heapUsed after GC ${mb(end.point.heapUsedBytes)}, rss ${mb(end.point.rssBytes)}`)

    const summary = {
      settings,
      start: start.point,
      end: end.point,
      lagStart: windows.at(0),
      lagEnd: windows.at(-1),
      tally: load.tally,
      upstream: await upstream.stats(),
      inflight,
      drained: start.drained && end.drained && pendingOf(load.tally) === 0,
    }
    process.stdout.write(`${renderSoakReport(summary)}\n`)
    return soakFailures(summary).length === 0
  } finally {
    await context?.pool.close()
    await gateway?.stop()
    await upstream.stop()
  }
}

try {
  const passed = await soak(readSoakSettings())
  process.exitCode = passed ? 0 : 1
} catch (err) {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}
