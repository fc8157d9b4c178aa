// `npm run bench [-- --only=plugins,cache]`: the fake upstream, the floor and the AnyGate variants
// the selected scenarios need, each in a forked process, load from this one. Progress goes to
// stderr, the Markdown report to stdout.
import { cpus, loadavg, platform, release } from 'node:os'
import type { Redis } from 'ioredis'
import type { RedisPlace } from './anygate-variants.js'
import { benchKeyPrefix, connectBenchRedis, defaultBenchRedisUrl, deleteBenchKeys } from './bench-redis.js'
import { expectedStreamEvents } from './chat-payloads.js'
import { type ChildServer, forkServer } from './child-server.js'
import { describePlan, type PinPlan, pinPlan, pinProcess } from './cpu-pinning.js'
import { idleScenario } from './idle-streams.js'
import { cacheScenario, pluginsScenario } from './plugin-scenarios.js'
import { findPortkey, portkeyPackage } from './portkey.js'
import { groupTable, markdownTable } from './report.js'
import { progress, type Targets } from './rounds.js'
import {
  fixedRateScenario,
  type ScenarioOutcome,
  stackScenario,
  streamScenario,
  throughputScenario,
} from './scenarios.js'
import { peerScenarios, type ScenarioName, selectScenarios, targetsFor } from './selection.js'
import { type BenchSettings, readSettings } from './settings.js'
import { newSecrets, startTargets } from './start-targets.js'
import { checkTargets } from './target-check.js'

/** Other processes share the cores: the load average says how much, beside every figure. */
const loadNote = () =>
  loadavg()
    .map((load) => load.toFixed(2))
    .join(' / ')

function machineNote(): string {
  const cores = cpus()
  return `${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${platform()} ${release()}`
}

const scenarioRunners: Record<
  ScenarioName,
  (targets: Targets, settings: BenchSettings, streamEvents: number) => Promise<ScenarioOutcome>
> = {
  fixed: fixedRateScenario,
  throughput: throughputScenario,
  stream: streamScenario,
  plugins: pluginsScenario,
  cache: cacheScenario,
  idle: idleScenario,
  stack: stackScenario,
}

/** The gateways under test on their own core; this process and the fake upstream on the rest. */
async function pinServers(
  plan: PinPlan | undefined,
  upstream: ChildServer,
  targets: Targets,
): Promise<boolean> {
  if (!plan) return false
  const servers = Object.values(targets)
    .map((target) => target.server)
    .filter((server) => server !== upstream)
  const pinned = await Promise.all([
    pinProcess(process.pid, plan.load),
    pinProcess(upstream.pid, plan.load),
    ...servers.map((server) => pinProcess(server.pid, plan.servers)),
  ])
  return pinned.every(Boolean)
}

function report(
  outcomes: readonly ScenarioOutcome[],
  seconds: number,
  pinning: string,
  peerNote?: string,
): string {
  const main = outcomes.filter((outcome) => outcome.rows.length > 0)
  const groups = outcomes.flatMap((outcome) => (outcome.group ? [outcome.group] : []))
  const lines = ['## AnyGate benchmark', '']
  if (main.length > 0) {
    lines.push(
      markdownTable(main.flatMap((outcome) => outcome.rows)),
      '',
      ...main.map((outcome) => `- ${outcome.note}`),
      "- server CPU = user + system CPU of the target's own process over the measured runs, divided by the " +
        "requests (streams) it served; for floor and anygate the fake upstream's share is not included",
      '- TTFB = first response body byte (the first SSE event), not the response headers',
      '',
    )
  }
  if (groups.length > 0) {
    lines.push(
      '### A 3-target public model',
      '',
      groupTable(groups.flatMap((group) => group.rows)),
      '',
      ...groups.map((group) => `- ${group.note}`),
      '',
    )
  }
  for (const outcome of outcomes) if (outcome.section) lines.push(outcome.section, '')
  if (peerNote) lines.push(peerNote)
  lines.push(
    `- machine: ${machineNote()}, load average ${loadNote()} (1/5/15 min) at the end; load generator, fake upstream and every gateway in separate processes, ${pinning}; ` +
      `run took ${seconds} s`,
    '',
  )
  return lines.join('\n')
}

async function cleanUp(client: Redis, place: RedisPlace): Promise<void> {
  try {
    const deleted = await deleteBenchKeys(client, place)
    progress(`bench: deleted ${deleted} Redis keys under ${place.keyPrefix}`)
  } catch (err) {
    progress(`bench: could not delete the Redis keys under ${place.keyPrefix}: ${(err as Error).message}`)
    process.exitCode = 1
  } finally {
    client.disconnect()
  }
}

async function main(): Promise<void> {
  let scenarios: ScenarioName[]
  try {
    scenarios = selectScenarios(process.argv.slice(2), process.env)
  } catch (err) {
    // A usage mistake: the message says what to write, a stack trace would not help.
    progress(`bench: ${(err as Error).message}`)
    process.exitCode = 2
    return
  }
  const settings = readSettings()
  const portkey = findPortkey()
  const names = targetsFor(scenarios, portkey !== undefined)
  const peerNote = scenarios.some((name) => peerScenarios.includes(name))
    ? `- peers: Portkey (${portkeyPackage}) ${portkey ? `measured (${portkey})` : 'not installed, so not measured'}`
    : undefined
  const started = Date.now()
  const servers: ChildServer[] = []
  let redis: { client: Redis; place: RedisPlace } | undefined
  try {
    if (names.includes('anygate-stack-redis') || names.includes('anygate-stack-redis-3')) {
      const url = process.env.BENCH_REDIS_URL || defaultBenchRedisUrl
      redis = { client: await connectBenchRedis(url), place: { url, keyPrefix: benchKeyPrefix() } }
    }
    const upstream = await forkServer({
      kind: 'fake-upstream',
      options: { chunks: settings.streamChunks, chunkDelayMs: settings.chunkDelayMs },
    })
    servers.push(upstream)
    const launched = await startTargets(names, { upstream, secrets: newSecrets(), redis: redis?.place })
    servers.push(...launched.servers)
    const { targets } = launched
    progress(
      `bench: scenarios ${scenarios.join(', ')}; ` +
        Object.entries(targets)
          .map(([name, target]) => `${name} ${target.origin}`)
          .join(', '),
    )

    const plan = pinPlan(cpus().length, platform(), process.env)
    const pinning = describePlan(plan, await pinServers(plan, upstream, targets))
    progress(`bench: ${pinning}`)

    const events = expectedStreamEvents(settings.streamChunks)
    await checkTargets(targets, events)
    const outcomes: ScenarioOutcome[] = []
    for (const scenario of scenarios)
      outcomes.push(await scenarioRunners[scenario](targets, settings, events))

    process.stdout.write(report(outcomes, Math.round((Date.now() - started) / 1000), pinning, peerNote))
    // Figures measured over failing requests mean nothing: say so in the exit code.
    if (outcomes.some((outcome) => outcome.failed > 0)) process.exitCode = 1
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
    if (redis) await cleanUp(redis.client, redis.place)
  }
}

await main()
