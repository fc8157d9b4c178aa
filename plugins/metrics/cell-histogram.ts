// A prom-client Histogram whose series are plain numbers on the request path, as cell-counter.ts does
// for counters: a bound child's observe() builds a label object and a label-hash string and looks
// them up on every call (about 0.6 µs, three per served request). Here a label combination is bound
// once to a cell, observe() adds to the cell, and a scrape copies the cells into the histogram (its
// collect callback) before prom-client renders it, in the order the series were first observed, as
// prom-client's own observe() would have created them.
import { format } from 'node:util'
import { Histogram, type Registry } from 'prom-client'
import { labelKey, labelsOf } from './cell-counter.js'

export interface CellHistogramConfig<L extends string> {
  name: string
  help: string
  labelNames: readonly L[]
  buckets: readonly number[]
  registers: Registry[]
}

/** The part of prom-client's Histogram internals a scrape fills in: one entry per series. */
interface SeriesEntry {
  labels: object
  bucketValues: Record<number, number>
  sum: number
  count: number
}

export class HistogramCell {
  /** Per upper bound, not cumulative (prom-client sums them at render). */
  readonly counts: number[]
  sum = 0
  count = 0
  readonly #bounds: readonly number[]
  readonly #onFirst: (cell: HistogramCell) => void

  constructor(
    readonly labels: Record<string, string>,
    bounds: readonly number[],
    onFirst: (cell: HistogramCell) => void,
  ) {
    this.#bounds = bounds
    this.counts = bounds.map(() => 0)
    this.#onFirst = onFirst
  }

  observe(value: number): void {
    // As prom-client's observe(): a value that is not a number is a bug, not a sample.
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${format(value)}`)
    const bounds = this.#bounds
    // The first bound the value is not above, as prom-client's findBound.
    let bucket = 0
    while (bucket < bounds.length && !(value <= bounds[bucket]!)) bucket++
    if (bucket < bounds.length) this.counts[bucket]!++
    this.sum += value
    if (this.count++ === 0) this.#onFirst(this)
  }
}

export class CellHistogram<L extends string> {
  readonly histogram: Histogram<L>
  readonly #name: string
  readonly #labelNames: readonly L[]
  readonly #bounds: readonly number[]
  readonly #cells = new Map<string, HistogramCell>()
  /** Cells that observed something, in the order they first did: the series' order in a scrape. */
  readonly #observed: HistogramCell[] = []
  readonly #noteFirst = (cell: HistogramCell) => {
    this.#observed.push(cell)
  }

  constructor(config: CellHistogramConfig<L>) {
    this.#name = config.name
    this.#labelNames = config.labelNames
    this.#bounds = config.buckets
    const observed = this.#observed
    const bounds = this.#bounds
    this.histogram = new Histogram<L>({
      ...config,
      buckets: [...bounds],
      collect() {
        this.reset()
        const byLabels = new Map<object, HistogramCell>()
        for (const cell of observed) {
          this.zero(cell.labels as Partial<Record<L, string>>)
          byLabels.set(cell.labels, cell)
        }
        // zero() made one entry per series, holding the labels object it was given.
        const entries = (this as unknown as { hashMap: Record<string, SeriesEntry> }).hashMap
        for (const entry of Object.values(entries)) {
          const cell = byLabels.get(entry.labels)
          if (!cell) continue
          entry.sum = cell.sum
          entry.count = cell.count
          bounds.forEach((bound, i) => {
            entry.bucketValues[bound] = cell.counts[i]!
          })
        }
      },
    })
  }

  /**
   * The cell of one label combination, values in labelNames order (prom-client's name for a bound
   * child). Bind once, keep the cell.
   */
  labels(...values: string[]): HistogramCell {
    const key = labelKey(this.#name, this.#labelNames, values)
    let cell = this.#cells.get(key)
    if (!cell) {
      cell = new HistogramCell(labelsOf(this.#labelNames, values), this.#bounds, this.#noteFirst)
      this.#cells.set(key, cell)
    }
    return cell
  }
}
