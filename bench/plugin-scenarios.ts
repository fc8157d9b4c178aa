// What the per-call plugins cost (issues #5, #6): AnyGate config variants measured in the same
// rounds as direct and the floor, and cache hits beside direct. Both run at a low fixed rate over
// one connection, so no request queues behind another and a difference between two variants is the
// price of the plugins one has and the other lacks.
import { cacheHitProblem, warmCache } from './cache-hit.js'
import { cacheableRequestBody } from './chat-payloads.js'
import { fixedRate } from './http-load.js'
import { type GoalRow, goalSummary, goalTable, latencyAdded, latencyTable } from './plugin-report.js'
import { type BenchTargetName, cacheTargetName, type VariantTargetName } from './report.js'
import {
  failureNote,
  type MergedHttp,
  mapTargets,
  measureInRounds,
  mergeHttp,
  namesOf,
  progress,
  type Target,
  type Targets,
  targetNamed,
  totalFailed,
} from './rounds.js'
import type { ScenarioOutcome } from './scenarios.js'
import type { BenchSettings } from './settings.js'

export const pluginTargetNames = [
  'direct',
  'floor',
  'anygate',
  'anygate-bare',
  'anygate-stack-memory',
  'anygate-stack-redis',
] as const satisfies readonly BenchTargetName[]

export const cacheScenarioTargetNames = [
  'direct',
  cacheTargetName,
] as const satisfies readonly BenchTargetName[]

const pluginsOn: Record<(typeof pluginTargetNames)[number] | typeof cacheTargetName, string> = {
  direct: 'none: the fake upstream itself',
  floor: 'none: bare Fastify + undici passthrough',
  anygate: 'default config: metrics on, no auth',
  'anygate-bare': 'metrics off, no auth',
  'anygate-stack-memory':
    'master key; virtual key with rpm, tpm, max_parallel, budget; limits.global_rpm; metrics; memory store',
  'anygate-stack-redis': 'the same on Redis (store.type redis, on_error deny)',
  [cacheTargetName]: 'default config + cache (memory backend), every request a hit',
}

/** Issue goals, as p50 limits. */
export const goals = {
  stackMemory: { limitMs: 0.3, source: '#5' },
  stackRedis: { limitMs: 1, source: '#5' },
  metrics: { limitMs: 0.1, source: '#6' },
  cacheHit: { limitMs: 1, source: '#6' },
} as const

const loadNote = (s: BenchSettings) =>
  `${s.durationSeconds} s per target in ${s.pluginRounds} round(s) after a ${s.warmupSeconds} s warm-up, ` +
  `${s.pluginRate} req/s evenly paced over ${s.pluginConnections} connection`

function achievedNote(merged: Record<string, MergedHttp>): string {
  return namesOf(merged)
    .map((name) => `${name} ${Math.round(merged[name]!.requestsPerSecond)}`)
    .join(', ')
}

type PluginsOnName = keyof typeof pluginsOn

/** A scenario section's title, latency table, goal table and load note, in that order. */
function sectionHead<N extends PluginsOnName>(
  title: string,
  names: readonly N[],
  merged: Record<N, MergedHttp>,
  goalRows: GoalRow[],
  note: string,
): string[] {
  const rows = names.map((name) => ({
    target: name,
    plugins: pluginsOn[name],
    latency: merged[name].latency,
    cpuMicrosPerRequest: merged[name].cpuMicrosPerRequest,
  }))
  return [title, '', latencyTable(rows, 'direct'), '', goalTable(goalRows), '', `- ${note}`]
}

function pluginGoalRows(merged: Record<(typeof pluginTargetNames)[number], MergedHttp>): GoalRow[] {
  const added = (of: VariantTargetName | 'anygate', over: 'anygate-bare' | 'anygate') =>
    latencyAdded(merged[of].latency, merged[over].latency)
  return [
    {
      what: 'auth + limits + budget + metrics, memory store',
      figure: 'anygate-stack-memory − anygate-bare',
      kind: 'added',
      latency: added('anygate-stack-memory', 'anygate-bare'),
      goal: goals.stackMemory,
    },
    {
      what: 'auth + limits + budget + metrics, Redis store',
      figure: 'anygate-stack-redis − anygate-bare',
      kind: 'added',
      latency: added('anygate-stack-redis', 'anygate-bare'),
      goal: goals.stackRedis,
    },
    {
      what: 'metrics',
      figure: 'anygate − anygate-bare',
      kind: 'added',
      latency: added('anygate', 'anygate-bare'),
      goal: goals.metrics,
    },
    // Metrics run in both, so these two isolate auth, limits and budget.
    {
      what: 'auth + limits + budget alone, memory store',
      figure: 'anygate-stack-memory − anygate',
      kind: 'added',
      latency: added('anygate-stack-memory', 'anygate'),
    },
    {
      what: 'auth + limits + budget alone, Redis store',
      figure: 'anygate-stack-redis − anygate',
      kind: 'added',
      latency: added('anygate-stack-redis', 'anygate'),
    },
  ]
}

export async function pluginsScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `d. per-call plugins @ ${s.pluginRate} req/s`
  const seconds = s.durationSeconds / s.pluginRounds
  const load = (target: Target, duration: number) =>
    fixedRate(target.origin, s.pluginRate, s.pluginConnections, duration, target.request)
  const measured = await measureInRounds(
    scenario,
    targets,
    pluginTargetNames,
    s.pluginRounds,
    (target) => load(target, s.warmupSeconds),
    (target) => load(target, seconds),
  )
  const merged = mapTargets(measured, mergeHttp)
  const goalRows = pluginGoalRows(merged)
  progress(`  ${scenario}: ${goalSummary(goalRows)}`)
  const note = `${scenario}: ${loadNote(s)}; achieved req/s ${achievedNote(merged)}; ${failureNote(measured)}`
  return {
    rows: [],
    note,
    failed: totalFailed(measured),
    section: [
      ...sectionHead('### Per-call plugins', pluginTargetNames, merged, goalRows, note),
      '- every AnyGate variant is the default config with only the listed plugins changed; a difference ' +
        'is p50 minus p50 (p99 minus p99) of the two targets, so it is noisier than either figure',
      '- the stack variants send their virtual key on every request; its limits are set far above the ' +
        'load, so every check runs and none refuses; the model is priced so the budget reserves and settles',
    ].join('\n'),
  }
}

export async function cacheScenario(targets: Targets, s: BenchSettings): Promise<ScenarioOutcome> {
  const scenario = `e. cache hits @ ${s.pluginRate} req/s`
  const seconds = s.durationSeconds / s.pluginRounds
  const cache = targetNamed(targets, cacheTargetName)
  progress(`  ${scenario}: storing the answer in ${cacheTargetName}`)
  await warmCache(cache)
  // The same bytes to both: direct ignores temperature; for the cache it makes the answer storable.
  const load = (target: Target, duration: number) =>
    fixedRate(target.origin, s.pluginRate, s.pluginConnections, duration, {
      ...target.request,
      body: cacheableRequestBody,
      ...(target === cache ? { check: cacheHitProblem } : {}),
    })
  const measured = await measureInRounds(
    scenario,
    targets,
    cacheScenarioTargetNames,
    s.pluginRounds,
    (target) => load(target, s.warmupSeconds),
    (target) => load(target, seconds),
  )
  const merged = mapTargets(measured, mergeHttp)
  const hit = merged[cacheTargetName].latency
  const goalRows: GoalRow[] = [
    {
      what: 'cache hit from memory, as the client sees it',
      figure: cacheTargetName,
      kind: 'absolute',
      latency: hit,
      goal: goals.cacheHit,
    },
    {
      what: 'cache hit against calling the upstream directly',
      figure: `${cacheTargetName} − direct`,
      kind: 'added',
      latency: latencyAdded(hit, merged.direct.latency),
    },
  ]
  progress(`  ${scenario}: ${goalSummary(goalRows)}`)
  const note = `${scenario}: ${loadNote(s)}; achieved req/s ${achievedNote(merged)}; ${failureNote(measured)}`
  return {
    rows: [],
    note,
    failed: totalFailed(measured),
    section: [
      ...sectionHead('### Cache hits', cacheScenarioTargetNames, merged, goalRows, note),
      `- the request has temperature 0 (cacheable) and was answered once before the run; every measured ` +
        `response of ${cacheTargetName} must carry ${'`x-anygate-cache: HIT`'}, any other counts as failed`,
    ].join('\n'),
  }
}
