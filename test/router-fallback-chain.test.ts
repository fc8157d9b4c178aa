import { describe, expect, it } from 'vitest'
import { findRoutingProblems, type RoutedModelConfig } from '../plugins/router/config-checks.js'
import {
  describeFallbackCycle,
  type FallbackModelConfig,
  fallbackChain,
  findFallbackCycles,
  indexFallbacks,
} from '../plugins/router/fallback-chain.js'

describe('fallbackChain', () => {
  const models: FallbackModelConfig[] = [
    {
      name: 'main',
      fallbacks: ['backup', 'cheap'],
      context_window_fallbacks: ['long'],
      content_policy_fallbacks: ['lenient'],
    },
    { name: 'backup', fallbacks: ['regional', 'cheap'] },
    { name: 'cheap', fallbacks: ['main'] },
    { name: 'regional' },
    { name: 'long', context_window_fallbacks: ['longer'] },
    { name: 'longer' },
    { name: 'lenient' },
  ]
  const index = indexFallbacks(models)

  it('lists the model’s own fallbacks first, then theirs, each once and never the start', () => {
    expect(fallbackChain(index, 'main', 'general')).toEqual(['backup', 'cheap', 'regional'])
    expect(fallbackChain(index, 'backup', 'general')).toEqual(['regional', 'cheap', 'main'])
  })

  it('follows the list of the failure kind', () => {
    expect(fallbackChain(index, 'main', 'context_window')).toEqual(['long', 'longer'])
    expect(fallbackChain(index, 'main', 'content_policy')).toEqual(['lenient'])
    expect(fallbackChain(index, 'regional', 'general')).toEqual([])
    expect(fallbackChain(index, 'not-configured', 'general')).toEqual([])
  })
})

describe('findFallbackCycles', () => {
  it('reports a cycle with its path and the config path of its first model', () => {
    const models: FallbackModelConfig[] = [
      { name: 'x' },
      { name: 'y', fallbacks: ['x'] },
      { name: 'a', fallbacks: ['b'] },
      { name: 'b', fallbacks: ['c'] },
      { name: 'c', fallbacks: ['a'] },
    ]
    const cycles = findFallbackCycles(models)
    expect(cycles).toEqual([{ index: 2, field: 'fallbacks', path: ['a', 'b', 'c', 'a'] }])
    expect(describeFallbackCycle(cycles[0]!)).toMatch(/^models\[2\]\.fallbacks: cycle a -> b -> c -> a;/)
  })

  it('starts the path at the earliest model in config order, wherever the search entered the loop', () => {
    const models: FallbackModelConfig[] = [
      { name: 'entry', fallbacks: ['b'] },
      { name: 'a', fallbacks: ['b'] },
      { name: 'b', fallbacks: ['a'] },
    ]
    expect(findFallbackCycles(models).map(describeFallbackCycle)).toEqual([
      expect.stringMatching(/^models\[1\]\.fallbacks: cycle a -> b -> a;/),
    ])
  })

  it('reports a model that falls back to itself, and cycles per list', () => {
    const models: FallbackModelConfig[] = [
      { name: 'a', fallbacks: ['a'] },
      { name: 'b', context_window_fallbacks: ['c'] },
      { name: 'c', context_window_fallbacks: ['b'], content_policy_fallbacks: ['c'] },
    ]
    expect(findFallbackCycles(models).map(describeFallbackCycle)).toEqual([
      expect.stringMatching(/^models\[0\]\.fallbacks: cycle a -> a;/),
      expect.stringMatching(/^models\[1\]\.context_window_fallbacks: cycle b -> c -> b;/),
      expect.stringMatching(/^models\[2\]\.content_policy_fallbacks: cycle c -> c;/),
    ])
  })

  it('accepts loops that only close across different lists, and plain chains', () => {
    const models: FallbackModelConfig[] = [
      { name: 'a', fallbacks: ['b'] },
      { name: 'b', context_window_fallbacks: ['a'], fallbacks: ['c'] },
      { name: 'c', fallbacks: ['d'] },
      { name: 'd' },
    ]
    expect(findFallbackCycles(models)).toEqual([])
  })
})

describe('findRoutingProblems', () => {
  const target = (provider: string, weight = 1) => ({ provider, model: 'm', weight })

  it('reports zero total weight, duplicate targets, unknown fallback names and cycles by path', () => {
    const models: RoutedModelConfig[] = [
      { name: 'ok', targets: [target('p', 0), target('q', 1)] },
      { name: 'zero', targets: [target('p', 0), target('q', 0)] },
      { name: 'dup', targets: [target('p'), target('p')] },
      { name: 'lost', targets: [target('p')], context_window_fallbacks: ['ok', 'missing'] },
      { name: 'loop1', targets: [target('p')], fallbacks: ['loop2'] },
      { name: 'loop2', targets: [target('p')], fallbacks: ['loop1'] },
    ]
    const problems = findRoutingProblems(models)
    expect(problems).toEqual([
      expect.stringMatching(/^models\[1\]\.targets: total weight is 0/),
      expect.stringMatching(/^models\[2\]\.targets\[1\]: p\/m is listed twice/),
      'models[3].context_window_fallbacks[1]: no model named "missing" in models',
      expect.stringMatching(/^models\[4\]\.fallbacks: cycle loop1 -> loop2 -> loop1;/),
    ])
  })

  it('finds nothing in a sound config', () => {
    const models: RoutedModelConfig[] = [
      {
        name: 'a',
        targets: [target('p', 3), target('q', 1)],
        fallbacks: ['b'],
        content_policy_fallbacks: ['b'],
      },
      { name: 'b', targets: [target('q')] },
    ]
    expect(findRoutingProblems(models)).toEqual([])
  })
})
