// CellHistogram renders exactly what prom-client's own Histogram renders for the same observations:
// series in first-observed order, bucket counts, sums and counts, and no series for a bound label
// combination that never observed anything.
import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { CellHistogram } from '../plugins/metrics/cell-histogram.js'

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const labelNames = ['model', 'stream'] as const

function pair() {
  const theirs = new Registry()
  const ours = new Registry()
  const config = { name: 'anygate_test_seconds', help: 'A test histogram.', labelNames, buckets }
  const reference = new Histogram({ ...config, registers: [theirs] })
  const cells = new CellHistogram({ ...config, registers: [ours] })
  return { theirs, ours, reference, cells }
}

describe('CellHistogram', () => {
  it('scrapes the same text as prom-client for the same observations', async () => {
    const { theirs, ours, reference, cells } = pair()
    const combos = [
      ['b', 'false'],
      ['a', 'true'],
      ['a', 'false'],
      ['never', 'false'],
    ] as const
    const bound = combos.map((values) => cells.labels(...values))
    const children = combos.map((values) => reference.labels(...values))
    // On bounds, between them, above the last one, and 0.
    const values = [0.005, 0.0051, 3, 0, 0.7, 0.1, 1e6, 0.025, 0.3333]
    let step = 0
    for (const value of values) {
      for (const [i, cell] of bound.entries()) {
        if (i === 3 || (i + step) % 2 === 0) continue
        cell.observe(value)
        children[i]!.observe(value)
      }
      step++
    }
    expect(await ours.metrics()).toBe(await theirs.metrics())
    expect(await ours.metrics()).not.toContain('never')
    // A second scrape, after more observations, starts from the cells again.
    bound[0]!.observe(0.02)
    children[0]!.observe(0.02)
    expect(await ours.metrics()).toBe(await theirs.metrics())
  })

  it('refuses a value that is not a number, as prom-client does', () => {
    const { cells } = pair()
    const cell = cells.labels('a', 'false')
    expect(() => cell.observe(Number.NaN)).toThrow(TypeError)
    expect(() => cell.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError)
  })
})
