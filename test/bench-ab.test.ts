// bench/ab.ts, the interleaved A/B of AnyGate builds: its arguments and how cycles become the table.
// Pure parts only; the run itself forks built servers (npm run bench:ab, README "Benchmarks").
import { describe, expect, it } from 'vitest'
import { type AbCycle, abTable, median, parseAbArgs, summarizeAb } from '../bench/ab.js'

describe('parseAbArgs', () => {
  it('reads builds with optional labels, "." as this build, and the options', () => {
    const settings = parseAbArgs(['--cycles=5', '--processes=3', '.', '/tmp/old/dist=before'], '/repo/dist')
    expect(settings).toEqual({
      cycles: 5,
      seconds: 3,
      processes: 3,
      connections: 32,
      builds: [
        { dir: '/repo/dist', label: 'this build' },
        { dir: '/tmp/old/dist', label: 'before' },
      ],
    })
  })

  it('refuses no build, an unknown option, a bad count and two builds with one label', () => {
    expect(() => parseAbArgs([], '/d')).toThrow(/no build to measure/)
    expect(() => parseAbArgs(['--fast', '.'], '/d')).toThrow(/unknown option "--fast"/)
    expect(() => parseAbArgs(['--cycles=0', '.'], '/d')).toThrow(/--cycles: a whole number of at least 1/)
    expect(() => parseAbArgs(['--seconds=1.5', '.'], '/d')).toThrow(/--seconds/)
    expect(() => parseAbArgs(['/a=x', '/b=x'], '/d')).toThrow(/two builds labelled "x"/)
  })
})

describe('summarizeAb', () => {
  const cycles: AbCycle[] = [
    { floorMicros: 40, micros: { a: [52, 48], b: [44, 44] } }, // a 1.25, b 1.10
    { floorMicros: 50, micros: { a: [65, 65], b: [60, 60] } }, // a 1.30, b 1.20
    { floorMicros: 40, micros: { a: [60, 60], b: [48, 48] } }, // a 1.50, b 1.20
  ]

  it("gives each build's median ratio to the floor, its range, and its ratio to the first build", () => {
    const [a, b] = summarizeAb(['a', 'b'], cycles)
    expect(a).toEqual({ label: 'a', median: 1.3, min: 1.25, max: 1.5, ofFirst: 1 })
    expect(b!.median).toBeCloseTo(1.2)
    expect(b!.min).toBeCloseTo(1.1)
    expect(b!.max).toBeCloseTo(1.2)
    // Per cycle b ÷ a: 0.88, 0.923, 0.8; the median of those, not the ratio of the medians.
    expect(b!.ofFirst).toBeCloseTo(1.1 / 1.25)
  })

  it('renders one Markdown row per build', () => {
    const table = abTable(summarizeAb(['a', 'b'], cycles)).split('\n')
    expect(table).toHaveLength(4)
    expect(table[2]).toBe('| a | 1.300× | 1.25 – 1.50 | 1.000× |')
    expect(table[3]).toMatch(/^\| b \| 1\.200× \| 1\.10 – 1\.20 \| 0\.880× \|$/)
  })

  it('takes the middle of an even count as the mean of the two middle values', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([7])).toBe(7)
  })
})
