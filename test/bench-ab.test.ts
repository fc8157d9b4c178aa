// bench/ab.ts, the interleaved A/B of AnyGate builds: its arguments and how cycles become the table.
// Pure parts only; the run itself forks built servers (npm run bench:ab, README "Benchmarks").
import { describe, expect, it } from 'vitest'
import { type AbCycle, abTable, median, parseAbArgs, signTestP, summarizeAb } from '../bench/ab.js'

describe('parseAbArgs', () => {
  it('reads builds with optional labels, "." as this build, and the options', () => {
    const settings = parseAbArgs(['--cycles=5', '--processes=3', '.', '/tmp/old/dist=before'], '/repo/dist')
    expect(settings).toEqual({
      cycles: 5,
      seconds: 3,
      processes: 3,
      connections: 32,
      stream: false,
      streams: 200,
      chunkDelayMs: 0,
      builds: [
        { dir: '/repo/dist', label: 'this build' },
        { dir: '/tmp/old/dist', label: 'before' },
      ],
    })
  })

  it('reads the stream mode: streams per server and cycle, at `connections` at a time, and the chunk pause', () => {
    const settings = parseAbArgs(
      ['--stream', '--streams=120', '--connections=8', '--chunk-delay-ms=0', '--chunk-delay-ms=2', '.'],
      '/repo/dist',
    )
    expect(settings).toMatchObject({ stream: true, streams: 120, connections: 8, chunkDelayMs: 2 })
  })

  it('refuses no build, an unknown option, a bad count and two builds with one label', () => {
    expect(() => parseAbArgs([], '/d')).toThrow(/no build to measure/)
    expect(() => parseAbArgs(['--fast', '.'], '/d')).toThrow(/unknown option "--fast"/)
    expect(() => parseAbArgs(['--cycles=0', '.'], '/d')).toThrow(/--cycles: a whole number of at least 1/)
    expect(() => parseAbArgs(['--seconds=1.5', '.'], '/d')).toThrow(/--seconds/)
    expect(() => parseAbArgs(['/a=x', '/b=x'], '/d')).toThrow(/two builds labelled "x"/)
    expect(() => parseAbArgs(['--chunk-delay-ms=-1', '.'], '/d')).toThrow(
      /--chunk-delay-ms: a whole number of at least 0/,
    )
    expect(() => parseAbArgs(['--chunk-delay-ms=', '.'], '/d')).toThrow(/--chunk-delay-ms/)
    expect(() => parseAbArgs(['--streams=0', '.'], '/d')).toThrow(/--streams: a whole number of at least 1/)
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
    expect(a).toEqual({ label: 'a', median: 1.3, min: 1.25, max: 1.5, ofFirst: 1, lower: 0, higher: 0, p: 1 })
    expect(b!.median).toBeCloseTo(1.2)
    expect(b!.min).toBeCloseTo(1.1)
    expect(b!.max).toBeCloseTo(1.2)
    // Per cycle b ÷ a: 0.88, 0.923, 0.8; the median of those, not the ratio of the medians.
    expect(b!.ofFirst).toBeCloseTo(1.1 / 1.25)
    // Below the first build in all three cycles: a split a fair coin gives 2 × 1/8 of the time.
    expect(b).toMatchObject({ lower: 3, higher: 0 })
    expect(b!.p).toBeCloseTo(0.25, 12)
  })

  it('counts a tie in neither direction', () => {
    const tied: AbCycle[] = [
      { floorMicros: 10, micros: { a: [12], b: [12] } },
      { floorMicros: 10, micros: { a: [12], b: [13] } },
    ]
    expect(summarizeAb(['a', 'b'], tied)[1]).toMatchObject({ lower: 0, higher: 1, p: 1 })
  })

  it('renders one Markdown row per build', () => {
    const table = abTable(summarizeAb(['a', 'b'], cycles)).split('\n')
    expect(table).toHaveLength(4)
    expect(table[2]).toBe('| a | 1.300× | 1.25 – 1.50 | 1.000× | — | — |')
    expect(table[3]).toMatch(/^\| b \| 1\.200× \| 1\.10 – 1\.20 \| 0\.880× \| 3 \/ 0 \| 0\.250 \|$/)
    expect(table[0]).toContain('| CPU per call ÷ floor (median) |')
    expect(abTable(summarizeAb(['a'], cycles), 'CPU per stream').split('\n')[0]).toContain(
      '| CPU per stream ÷ floor (median) |',
    )
  })

  it('takes the middle of an even count as the mean of the two middle values', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([7])).toBe(7)
  })
})

describe('signTestP', () => {
  it('gives the two-sided binomial tail of the smaller count', () => {
    // 11 of 12 cycles one way: 2 × (C(12,0) + C(12,1)) / 2^12.
    expect(signTestP(11, 1)).toBeCloseTo((2 * (1 + 12)) / 4096, 12)
    // 13 of 16: 2 × (1 + 16 + 120 + 560) / 2^16.
    expect(signTestP(13, 3)).toBeCloseTo((2 * (1 + 16 + 120 + 560)) / 65536, 12)
    expect(signTestP(3, 13)).toBe(signTestP(13, 3))
  })

  it('is 1 for an even split or no decided cycle, and stays a number for long runs', () => {
    expect(signTestP(5, 5)).toBe(1)
    expect(signTestP(0, 0)).toBe(1)
    expect(signTestP(600, 600)).toBe(1)
    const lopsided = signTestP(1200, 0)
    expect(Number.isFinite(lopsided)).toBe(true)
    expect(lopsided).toBeLessThan(1e-300)
    expect(signTestP(520, 480)).toBeGreaterThan(0.2)
  })
})
