// Which scenarios a run measures (`--only=plugins,cache` or BENCH_ONLY), and so which servers it
// has to start. Pure: arguments and environment in, names out.
import {
  type BenchTargetName,
  cacheTargetName,
  fullStackTargetName,
  groupTargetName,
  peerNames,
  targetNames,
  variantTargetNames,
  wideTargetNames,
} from './report.js'

/** In the order they run. */
export const scenarioNames = ['fixed', 'throughput', 'stream', 'plugins', 'cache', 'idle', 'stack'] as const
export type ScenarioName = (typeof scenarioNames)[number]

/** The targets each scenario loads. */
export const scenarioTargets: Record<ScenarioName, readonly BenchTargetName[]> = {
  fixed: [...targetNames, groupTargetName],
  throughput: targetNames,
  stream: targetNames,
  plugins: [...targetNames, ...variantTargetNames],
  cache: ['direct', cacheTargetName],
  idle: ['direct', ...wideTargetNames],
  stack: [...targetNames, fullStackTargetName],
}

/** Peers (Portkey) join these scenarios when installed; bench/portkey.ts finds out at run time. */
export const peerScenarios: readonly ScenarioName[] = ['fixed', 'throughput', 'stream', 'stack']

const isScenarioName = (name: string): name is ScenarioName =>
  (scenarioNames as readonly string[]).includes(name)

function parseList(list: string, source: string): ScenarioName[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  const unknown = names.filter((name) => !isScenarioName(name))
  if (unknown.length > 0 || names.length === 0) {
    const given =
      unknown.length > 0 ? `unknown scenario ${unknown.map((n) => `"${n}"`).join(', ')}` : 'no scenario'
    throw new Error(`${source}: ${given}; choose among ${scenarioNames.join(', ')} (comma-separated)`)
  }
  return scenarioNames.filter((name) => names.includes(name))
}

/**
 * `--only=a,b` (or `--only a,b`) wins over BENCH_ONLY=a,b; neither selects every scenario. The
 * scenarios run in their fixed order whatever order they were named in.
 */
export function selectScenarios(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ScenarioName[] {
  let only: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg.startsWith('--only=')) only = arg.slice('--only='.length)
    else if (arg === '--only') {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) throw new Error('--only: needs a list of scenarios')
      only = value
      i++
    } else throw new Error(`unknown argument "${arg}"; usage: --only=${scenarioNames.join(',')}`)
  }
  if (only !== undefined) return parseList(only, '--only')
  if (env.BENCH_ONLY) return parseList(env.BENCH_ONLY, 'BENCH_ONLY')
  return [...scenarioNames]
}

/** Every target the scenarios load, once each, direct first. */
export function targetsFor(scenarios: readonly ScenarioName[], withPeers = false): BenchTargetName[] {
  const names: BenchTargetName[] = scenarios.flatMap((name) => scenarioTargets[name])
  if (withPeers && scenarios.some((name) => peerScenarios.includes(name))) names.push(...peerNames)
  return [...new Set(names)]
}
