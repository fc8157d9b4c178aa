// A prom-client Counter whose series are plain numbers on the request path. prom-client's own
// inc() builds a label-hash string and looks it up on every call (about a microsecond each, several
// per request); here a label combination is bound once to a cell, the request path adds to the
// cell, and a scrape copies the cells into the counter (its collect callback) before rendering it.
import { Counter, type Registry } from 'prom-client'

export class CounterCell {
  value = 0

  inc(by = 1): void {
    this.value += by
  }
}

/** The key of one label combination in a cell map, once the values are checked against the names. */
export function labelKey(metric: string, labelNames: readonly string[], values: readonly string[]): string {
  if (values.length !== labelNames.length) {
    throw new Error(`${metric}: ${labelNames.length} label values expected, got ${values.length}`)
  }
  return values.join('\u0000')
}

/** The labels object prom-client takes, from values in labelNames order. */
export function labelsOf<L extends string>(
  labelNames: readonly L[],
  values: readonly string[],
): Record<L, string> {
  const labels = {} as Record<L, string>
  labelNames.forEach((name, i) => {
    labels[name] = values[i]!
  })
  return labels
}

export interface CellCounterConfig<L extends string> {
  name: string
  help: string
  labelNames: readonly L[]
  registers: Registry[]
}

export class CellCounter<L extends string> {
  readonly counter: Counter<L>
  readonly #name: string
  readonly #labelNames: readonly L[]
  readonly #cells = new Map<string, { labels: Partial<Record<L, string>>; cell: CounterCell }>()

  constructor(config: CellCounterConfig<L>) {
    this.#name = config.name
    this.#labelNames = config.labelNames
    const cells = this.#cells
    this.counter = new Counter<L>({
      ...config,
      collect() {
        this.reset()
        for (const { labels, cell } of cells.values()) if (cell.value > 0) this.inc(labels, cell.value)
      },
    })
  }

  /** The cell of one label combination, values in labelNames order. Bind once, keep the cell. */
  bind(...values: string[]): CounterCell {
    const key = labelKey(this.#name, this.#labelNames, values)
    let bound = this.#cells.get(key)
    if (!bound) {
      bound = { labels: labelsOf(this.#labelNames, values), cell: new CounterCell() }
      this.#cells.set(key, bound)
    }
    return bound.cell
  }
}
