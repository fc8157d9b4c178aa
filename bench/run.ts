// `npm run bench`: fake upstream, floor and AnyGate each in a forked process, load from this one.
// Progress goes to stderr, the Markdown report to stdout.
import { cpus, platform, release } from 'node:os'
import { expectedStreamEvents } from './chat-payloads.js'
import { type ChildServer, forkServer } from './child-server.js'
import { groupTable, groupTargetName, markdownTable } from './report.js'
import {
  fixedRateScenario,
  type ScenarioOutcome,
  streamScenario,
  type Targets,
  throughputScenario,
} from './scenarios.js'
import { readSettings } from './settings.js'
import { checkTargets } from './target-check.js'

function machineNote(): string {
  const cores = cpus()
  return `${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${platform()} ${release()}`
}

async function main(): Promise<void> {
  const settings = readSettings()
  const started = Date.now()
  const servers: ChildServer[] = []
  try {
    const upstream = await forkServer({
      kind: 'fake-upstream',
      options: { chunks: settings.streamChunks, chunkDelayMs: settings.chunkDelayMs },
    })
    servers.push(upstream)
    const gateways = await Promise.all([
      forkServer({ kind: 'floor', options: { upstreamOrigin: upstream.origin } }),
      forkServer({ kind: 'anygate', options: { upstreamOrigin: upstream.origin } }),
      forkServer({ kind: 'anygate', options: { upstreamOrigin: upstream.origin, targets: 3 } }),
    ])
    servers.push(...gateways)
    const [floor, anygate, anygateGroup] = gateways
    const targets: Targets = {
      direct: { origin: upstream.origin, server: upstream },
      floor: { origin: floor.origin, server: floor },
      anygate: { origin: anygate.origin, server: anygate },
      [groupTargetName]: { origin: anygateGroup.origin, server: anygateGroup },
    }
    const events = expectedStreamEvents(settings.streamChunks)
    process.stderr.write(
      `bench: upstream ${upstream.origin}, floor ${floor.origin}, anygate ${anygate.origin}, ` +
        `${groupTargetName} ${anygateGroup.origin}\n`,
    )

    await checkTargets(targets, events)
    const outcomes: ScenarioOutcome[] = [
      await fixedRateScenario(targets, settings),
      await throughputScenario(targets, settings),
      await streamScenario(targets, settings, events),
    ]

    const seconds = Math.round((Date.now() - started) / 1000)
    const groups = outcomes.flatMap((outcome) => (outcome.group ? [outcome.group] : []))
    const report = [
      '## AnyGate benchmark',
      '',
      markdownTable(outcomes.flatMap((outcome) => outcome.rows)),
      '',
      ...outcomes.map((outcome) => `- ${outcome.note}`),
      "- server CPU = user + system CPU of the target's own process over the measured runs, divided by the " +
        "requests (streams) it served; for floor and anygate the fake upstream's share is not included",
      '- TTFB = first response body byte (the first SSE event), not the response headers',
      `- machine: ${machineNote()}; load generator, fake upstream, floor and AnyGate in separate processes; run took ${seconds} s`,
      '',
      '### A 3-target public model',
      '',
      groupTable(groups.flatMap((group) => group.rows)),
      '',
      ...groups.map((group) => `- ${group.note}`),
      '',
    ]
    process.stdout.write(report.join('\n'))
    // Figures measured over failing requests mean nothing: say so in the exit code.
    if (outcomes.some((outcome) => outcome.failed > 0)) process.exitCode = 1
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
}

await main()
