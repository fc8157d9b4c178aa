// Two small SVG charts, drawn by hand (no chart library: the page works offline and loads nothing
// from elsewhere). Colours come from CSS classes, so the light and dark themes apply. Each chart is
// an image with a text summary for screen readers; the tables beside them hold the exact numbers.
import { h, svg } from './dom.js'

const width = 640
const height = 200
const margin = { top: 12, right: 12, bottom: 24, left: 52 }
const minSpanMs = 30_000

function spanText(ms) {
  return ms >= 90_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`
}

/** A round axis maximum at or above `value`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceCeiling(value) {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

function legend(series) {
  return h(
    'ul',
    { class: 'legend' },
    series.map((s) =>
      h('li', {}, h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.name),
    ),
  )
}

/** The path of one series; a point that is not a number (no calls then) breaks the line. */
function linePath(points, x, y) {
  let path = ''
  let drawing = false
  for (const [t, v] of points) {
    if (!Number.isFinite(v)) {
      drawing = false
      continue
    }
    path += `${drawing ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`
    drawing = true
  }
  return path
}

/**
 * A time series chart over the last `windowMs` up to `now`.
 * series: [{ name, className, points: [[epochMs, value], ...] }]; format: the y-axis label text.
 */
export function lineChart({ label, series, format, windowMs, now, testId }) {
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite)
  const top = niceCeiling(Math.max(0, ...values))
  // Until the history fills the window, the x axis spans what there is (at least 30 s), so the first
  // minutes after sign-in are not a few pixels squeezed against the right edge.
  const earliest = Math.min(now, ...series.flatMap((s) => s.points.map(([t]) => t)))
  const span = Math.min(windowMs, Math.max(minSpanMs, now - earliest))
  const x = (t) => margin.left + ((t - (now - span)) / span) * plotW
  const y = (v) => margin.top + plotH - (v / top) * plotH

  const grid = [0, 0.5, 1].map((share) => {
    const v = top * share
    return svg(
      'g',
      { class: 'grid' },
      svg('line', { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v) }),
      svg('text', { x: margin.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)),
    )
  })
  const axis = [
    svg('text', { class: 'axis', x: margin.left, y: height - 6 }, `−${spanText(span)}`),
    svg('text', { class: 'axis', x: width - margin.right, y: height - 6, 'text-anchor': 'end' }, 'now'),
  ]
  const lasts = series.map((s) => [...s.points].reverse().find(([, v]) => Number.isFinite(v)))
  const lines = series.map((s, i) =>
    svg(
      'g',
      { class: `line ${s.className}` },
      svg('path', { d: linePath(s.points, x, y), fill: 'none' }),
      // The newest value as a dot: visible even while a series is a single point.
      lasts[i] ? svg('circle', { cx: x(lasts[i][0]), cy: y(lasts[i][1]), r: 3 }) : null,
    ),
  )
  const latest = series.map((s, i) => `${s.name} ${lasts[i] ? format(lasts[i][1]) : 'no data'}`)
  const peak = values.length > 0 ? Math.max(...values) : 0
  const summary = `${label}, last ${spanText(span)}: ${values.length === 0 ? 'no data yet' : `latest ${latest.join(', ')}; peak ${format(peak)}`}`
  const empty =
    values.length === 0
      ? svg(
          'text',
          { class: 'empty', x: width / 2, y: height / 2, 'text-anchor': 'middle' },
          'Waiting for data…',
        )
      : null
  return h(
    'figure',
    { class: 'chart', 'data-testid': testId, 'data-peak': peak, 'data-points': values.length },
    h('figcaption', {}, label),
    svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary },
      svg('title', {}, summary),
      grid,
      axis,
      lines,
      empty,
    ),
    legend(series),
  )
}

/**
 * Horizontal stacked bars, one row per item.
 * rows: [{ label, segments: [{ name, className, value }] }]; format: the total's text.
 */
export function barChart({ label, rows, segmentNames, format, testId }) {
  const rowH = 26
  const labelW = 150
  const valueW = 90
  const chartH = Math.max(1, rows.length) * rowH + 8
  const plotW = width - labelW - valueW
  const totals = rows.map((row) => row.segments.reduce((sum, s) => sum + s.value, 0))
  const top = Math.max(0, ...totals) || 1
  const bars = rows.map((row, i) => {
    const yTop = 4 + i * rowH
    let xAt = labelW
    const pieces = row.segments.map((segment) => {
      const w = (segment.value / top) * plotW
      const rect = svg(
        'rect',
        {
          class: `bar ${segment.className}`,
          x: xAt,
          y: yTop + 4,
          width: Math.max(0, w),
          height: rowH - 10,
          rx: 2,
        },
        svg('title', {}, `${row.label}: ${segment.name} ${format(segment.value)}`),
      )
      xAt += w
      return rect
    })
    const name = row.label.length > 22 ? `${row.label.slice(0, 21)}…` : row.label
    return svg(
      'g',
      {},
      svg('text', { class: 'bar-label', x: labelW - 8, y: yTop + rowH / 2 + 3, 'text-anchor': 'end' }, name),
      pieces,
      svg('text', { class: 'bar-value', x: xAt + 6, y: yTop + rowH / 2 + 3 }, format(totals[i])),
    )
  })
  const summary =
    rows.length === 0
      ? `${label}: nothing yet`
      : `${label}: ${rows.map((row, i) => `${row.label} ${format(totals[i])}`).join(', ')}`
  return h(
    'figure',
    { class: 'chart', 'data-testid': testId },
    h('figcaption', {}, label),
    rows.length === 0
      ? h('p', { class: 'muted' }, 'Nothing yet.')
      : svg(
          'svg',
          { viewBox: `0 0 ${width} ${chartH}`, role: 'img', 'aria-label': summary },
          svg('title', {}, summary),
          bars,
        ),
    segmentNames ? legend(segmentNames) : null,
  )
}
