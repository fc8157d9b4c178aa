// How numbers read on the page. Counts are exact (grouped digits); money keeps up to six decimals
// below a dollar so a single cheap call still shows; durations switch from ms to s at one second.
const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export const dash = '—'

export function formatCount(value) {
  return Number.isFinite(value) ? counts.format(value) : dash
}

export function formatUsd(value) {
  if (!Number.isFinite(value)) return dash
  if (value === 0) return '$0'
  const digits = Math.abs(value) < 1 ? 6 : Math.abs(value) < 100 ? 4 : 2
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`
}

/** Seconds, as ms below one second (three significant digits) and as s above. */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return dash
  if (seconds < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`
  return `${Number(seconds.toPrecision(3))} s`
}

export function formatRate(perSecond) {
  if (perSecond === null || !Number.isFinite(perSecond)) return dash
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(2)
}

export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return dash
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 2 : 1)}%`
}

export function formatTime(date) {
  return date.toLocaleTimeString('en-GB', { hour12: false })
}

/** Short numbers for chart axes: 1.2k, 3.4M. */
export function formatCompact(value) {
  return new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(value)
}
