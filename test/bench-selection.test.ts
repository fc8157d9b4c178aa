// Choosing bench scenarios from the command line or BENCH_ONLY, and the targets they need.
import { describe, expect, it } from 'vitest'
import { scenarioNames, selectScenarios, targetsFor } from '../bench/selection.js'

describe('selectScenarios', () => {
  it('selects every scenario when nothing is asked', () => {
    expect(selectScenarios([], {})).toEqual([...scenarioNames])
  })

  it('reads --only=a,b and --only a,b, in run order whatever order they were named in', () => {
    expect(selectScenarios(['--only=cache,plugins'], {})).toEqual(['plugins', 'cache'])
    expect(selectScenarios(['--only', ' stream , fixed '], {})).toEqual(['fixed', 'stream'])
  })

  it('reads BENCH_ONLY, and lets the argument win over it', () => {
    expect(selectScenarios([], { BENCH_ONLY: 'throughput' })).toEqual(['throughput'])
    expect(selectScenarios(['--only=cache'], { BENCH_ONLY: 'throughput' })).toEqual(['cache'])
  })

  it('refuses an unknown scenario, naming it and the known ones', () => {
    expect(() => selectScenarios(['--only=plugins,speed'], {})).toThrow(
      '--only: unknown scenario "speed"; choose among fixed, throughput, stream, plugins, cache, idle, stack',
    )
    expect(() => selectScenarios([], { BENCH_ONLY: ',' })).toThrow('BENCH_ONLY: no scenario')
  })

  it('refuses --only without a list and arguments it does not know', () => {
    expect(() => selectScenarios(['--only'], {})).toThrow('--only: needs a list of scenarios')
    expect(() => selectScenarios(['--fast'], {})).toThrow('unknown argument "--fast"')
  })
})

describe('targetsFor', () => {
  it('starts only what the chosen scenarios load, each once', () => {
    expect(targetsFor(['cache'])).toEqual(['direct', 'anygate-cache'])
    expect(targetsFor(['plugins', 'cache'])).toEqual([
      'direct',
      'floor',
      'anygate',
      'anygate-bare',
      'anygate-stack-memory',
      'anygate-stack-redis',
      'anygate-cache',
    ])
    expect(targetsFor(['throughput', 'stream'])).toEqual(['direct', 'floor', 'anygate'])
  })
})
