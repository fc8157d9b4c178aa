// The plugins and cache scenarios' report: percentile differences, goal verdicts and the tables.
import { describe, expect, it } from 'vitest'
import { cacheHitProblem } from '../bench/cache-hit.js'
import {
  type GoalRow,
  goalSummary,
  goalTable,
  latencyAdded,
  latencyTable,
  meetsGoal,
} from '../bench/plugin-report.js'

const goal = { limitMs: 0.3, source: '#5' }

describe('latencyAdded', () => {
  it('subtracts percentile by percentile', () => {
    const added = latencyAdded({ p50: 1.25, p99: 4 }, { p50: 1, p99: 3.5 })
    expect(added.p50).toBeCloseTo(0.25)
    expect(added.p99).toBeCloseTo(0.5)
  })

  it('keeps a negative difference negative: the variant was faster in this run', () => {
    const added = latencyAdded({ p50: 0.9, p99: 2 }, { p50: 1, p99: 3 })
    expect(added.p50).toBeCloseTo(-0.1)
    expect(added.p99).toBe(-1)
  })
})

describe('meetsGoal', () => {
  it('passes strictly under the limit only', () => {
    expect(meetsGoal(0.29, goal)).toBe(true)
    expect(meetsGoal(0.3, goal)).toBe(false)
    expect(meetsGoal(-0.1, goal)).toBe(true)
  })

  it('fails a figure that could not be measured', () => {
    expect(meetsGoal(Number.NaN, goal)).toBe(false)
  })
})

describe('latencyTable', () => {
  it('shows each target against the baseline, and a dash for the baseline itself', () => {
    const text = latencyTable(
      [
        { target: 'direct', plugins: 'none', latency: { p50: 0.2, p99: 1 }, cpuMicrosPerRequest: 31.4 },
        {
          target: 'anygate',
          plugins: 'metrics',
          latency: { p50: 1.05, p99: 3 },
          cpuMicrosPerRequest: 1234.5,
        },
      ],
      'direct',
    )
    expect(text.split('\n')).toEqual([
      '| target | plugins on | p50 (ms) | p99 (ms) | p50 − direct (ms) | p99 − direct (ms) | server CPU per request (µs) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      '| direct | none | 0.20 | 1.00 | — | — | 31 |',
      '| anygate | metrics | 1.05 | 3.00 | +0.85 | +2.00 | 1,235 |',
    ])
  })

  it('writes n/a when the baseline was not measured', () => {
    const text = latencyTable(
      [{ target: 'anygate', plugins: 'metrics', latency: { p50: 1, p99: 2 }, cpuMicrosPerRequest: 10 }],
      'direct',
    )
    expect(text).toContain('| anygate | metrics | 1.00 | 2.00 | n/a | n/a | 10 |')
  })
})

describe('goalTable', () => {
  const rows: GoalRow[] = [
    { what: 'stack', figure: 'a − b', kind: 'added', latency: { p50: 0.12, p99: -0.5 }, goal },
    {
      what: 'redis',
      figure: 'c − b',
      kind: 'added',
      latency: { p50: 1.5, p99: 2 },
      goal: { limitMs: 1, source: '#5' },
    },
    { what: 'hit', figure: 'cache', kind: 'absolute', latency: { p50: 0.8, p99: 2.25 } },
  ]

  it('signs differences, not absolute latencies, and marks each goal', () => {
    expect(goalTable(rows).split('\n')).toEqual([
      '| what | figure | p50 (ms) | p99 (ms) | goal (p50) | result |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      '| stack | a − b | +0.12 | -0.50 | < 0.3 ms (#5) | pass |',
      '| redis | c − b | +1.50 | +2.00 | < 1 ms (#5) | **fail** |',
      '| hit | cache | 0.80 | 2.25 | — | — |',
    ])
  })

  it('counts only the rows that have a goal in the summary', () => {
    expect(goalSummary(rows)).toBe('1 of 2 goals met')
  })
})

describe('cacheHitProblem', () => {
  it('accepts a HIT', () => {
    expect(cacheHitProblem({ 'x-anygate-cache': 'HIT' })).toBeUndefined()
  })

  it('names a MISS or a missing header', () => {
    expect(cacheHitProblem({ 'x-anygate-cache': 'MISS' })).toBe('x-anygate-cache: MISS instead of HIT')
    expect(cacheHitProblem({})).toBe('x-anygate-cache: (absent) instead of HIT')
  })
})
