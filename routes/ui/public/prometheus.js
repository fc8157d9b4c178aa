// The Prometheus text exposition format (0.0.4) read into samples, and the PromQL arithmetic the
// dashboard needs: sums over label sets, histogram_quantile, and per-second rates from two scrapes.
// Pure functions only (no DOM, no fetch), so the tests run them in Node.

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

function unescapeLabel(value) {
  return value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
}

function parseValue(text) {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text)
}

/** Every sample line as { name, labels, value }; comments, blank and malformed lines are skipped. */
export function parseExposition(text) {
  const samples = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = sampleLine.exec(line)
    if (!match) continue
    const labels = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(labelPair)) labels[key] = unescapeLabel(value)
    samples.push({ name: match[1], labels, value: parseValue(match[3]) })
  }
  return samples
}

const everything = () => true

/** The sum of every sample of `name` whose labels pass `filter` (PromQL `sum(name{...})`). */
export function sumOf(samples, name, filter = everything) {
  let total = 0
  for (const s of samples) if (s.name === name && filter(s.labels)) total += s.value
  return total
}

/** Sums by one label (PromQL `sum by (label) (name{...})`), as a Map from label value to sum. */
export function sumBy(samples, name, label, filter = everything) {
  const sums = new Map()
  for (const s of samples) {
    if (s.name !== name || !filter(s.labels)) continue
    const key = s.labels[label] ?? ''
    sums.set(key, (sums.get(key) ?? 0) + s.value)
  }
  return sums
}

/**
 * The cumulative buckets of histogram `name` summed over every series that passes `filter`
 * (PromQL `sum by (le) (name_bucket{...})`), sorted by upper bound, +Inf last.
 */
export function histogramBuckets(samples, name, filter = everything) {
  const counts = new Map()
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !filter(s.labels)) continue
    const le = parseValue(s.labels.le ?? '')
    if (Number.isNaN(le)) continue
    counts.set(le, (counts.get(le) ?? 0) + s.value)
  }
  return [...counts.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}

/**
 * PromQL's histogram_quantile: the bucket holding the q-th observation, interpolated linearly in it
 * (the first bucket from 0). NaN without observations or without a +Inf bucket; a quantile in the
 * +Inf bucket is the highest finite bound, as Prometheus answers.
 */
export function histogramQuantile(q, buckets) {
  if (Number.isNaN(q)) return Number.NaN
  if (q < 0) return Number.NEGATIVE_INFINITY
  if (q > 1) return Number.POSITIVE_INFINITY
  if (buckets.length < 2) return Number.NaN
  const last = buckets[buckets.length - 1]
  if (last.le !== Number.POSITIVE_INFINITY) return Number.NaN
  // Counts from separate scrapes of separate series can dip; a cumulative count never falls.
  const cumulative = []
  let running = 0
  for (const b of buckets) {
    running = Math.max(running, b.count)
    cumulative.push(running)
  }
  const observations = cumulative[cumulative.length - 1]
  if (observations === 0) return Number.NaN
  let rank = q * observations
  let b = cumulative.findIndex((count, i) => i < buckets.length - 1 && count >= rank)
  if (b === -1) b = buckets.length - 1
  if (b === buckets.length - 1) return buckets[buckets.length - 2].le
  if (b === 0 && buckets[0].le <= 0) return buckets[0].le
  let start = 0
  let count = cumulative[b]
  if (b > 0) {
    start = buckets[b - 1].le
    count -= cumulative[b - 1]
    rank -= cumulative[b - 1]
  }
  return count === 0 ? buckets[b].le : start + (buckets[b].le - start) * (rank / count)
}

/** The bounds [lower, upper] of the bucket the q-th observation falls in, for display tolerance. */
export function quantileBucket(q, buckets) {
  const value = histogramQuantile(q, buckets)
  if (Number.isNaN(value)) return null
  let lower = 0
  for (const b of buckets) {
    if (value <= b.le) return [lower, b.le]
    lower = b.le
  }
  return [lower, Number.POSITIVE_INFINITY]
}

/**
 * What was observed between two scrapes of the same buckets (PromQL `increase`). A count that fell
 * means the gateway restarted in between: then the current counts are the increase.
 */
export function bucketIncrease(current, previous) {
  if (!previous) return current
  const before = new Map(previous.map((b) => [b.le, b.count]))
  const reset = current.some((b) => b.count < (before.get(b.le) ?? 0))
  if (reset) return current
  return current.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }))
}

/** A counter's per-second rate between two readings; a counter that fell restarted from 0. */
export function counterRate(current, previous, seconds) {
  if (previous === undefined || !(seconds > 0)) return null
  const increase = current >= previous ? current - previous : current
  return increase / seconds
}
