// The dashboard's I/O: sign-in, the refresh loop, and the calls to the gateway. Everything it shows
// is computed by dashboard-data.js and drawn by render.js.
//
// The master key is kept in sessionStorage: per tab, gone when the tab closes, and never sent by the
// browser on its own (unlike a cookie, so no request forgery from other sites), nor part of a URL
// (which would reach logs, history and Referer headers). A script on this origin could read it, so
// the page runs only its own modules under a strict Content-Security-Policy (routes/ui.ts) and
// renders every value as text.
import { keyRows, spendRangesFor, summarize, utcDay, windowBetween } from './dashboard-data.js'
import { byId } from './dom.js'
import { formatTime } from './format.js'
import { parseExposition } from './prometheus.js'
import {
  clearMetricsNote,
  renderKeys,
  renderMetricsUnavailable,
  renderModels,
  renderPanelError,
  renderProviders,
  renderTargetsFromMetrics,
  renderTiles,
  renderTrafficCharts,
} from './render.js'

const keyStorage = 'anygate.dashboard.key'
const intervalStorage = 'anygate.dashboard.refresh_s'
const chartWindowMs = 5 * 60_000

const state = {
  key: null,
  settings: null,
  /** The last summary and when it was scraped, for rates over the next interval. */
  previous: null,
  history: [],
  timer: null,
  running: false,
}

/** A refused key ends the session; anything else is shown where it happened. */
class SessionEnded extends Error {}

async function errorText(response) {
  try {
    const body = await response.json()
    if (body?.error?.message) return body.error.message
  } catch {}
  return `HTTP ${response.status}`
}

async function call(path, accept = 'application/json') {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${state.key}`, accept },
    cache: 'no-store',
    credentials: 'omit',
  })
  if (response.status === 401) throw new SessionEnded(await errorText(response))
  return response
}

async function callJson(path) {
  const response = await call(path)
  if (!response.ok) throw new Error(`${path}: ${await errorText(response)}`)
  return response.json()
}

async function loadMetrics(now) {
  const metrics = state.settings.metrics
  if (!metrics.enabled) return { off: true }
  const response = await call(metrics.path, 'text/plain')
  if (!response.ok) throw new Error(`${metrics.path}: ${await errorText(response)}`)
  return { summary: summarize(parseExposition(await response.text())), at: now }
}

async function loadKeys(now) {
  const list = await callJson('/admin/keys')
  const to = utcDay(now)
  const ranges = spendRangesFor(list.data, now)
  const reports = await Promise.all(
    ranges.map((from) => callJson(`/admin/spend?group_by=key&from=${from}&to=${to}`)),
  )
  return keyRows(list.data, new Map(ranges.map((from, i) => [from, reports[i]])), now)
}

async function loadProviders() {
  const response = await call('/admin/providers')
  // Older gateways have no such route: the panel falls back to the circuit states in /metrics.
  if (response.status === 404) return null
  if (!response.ok) throw new Error(`/admin/providers: ${await errorText(response)}`)
  return (await response.json()).providers
}

function showMetrics(result) {
  if (result.status === 'rejected') {
    renderMetricsUnavailable(`Metrics could not be read: ${result.reason.message}`)
    return null
  }
  if (result.value.off) {
    renderMetricsUnavailable('Metrics are turned off on this gateway (metrics.enabled: false).')
    return null
  }
  const { summary, at } = result.value
  const previous = state.previous
  const window = previous ? windowBetween(summary, previous.summary, (at - previous.at) / 1000) : null
  state.previous = { summary, at }
  if (window) state.history.push({ t: at, window })
  state.history = state.history.filter((point) => point.t >= at - chartWindowMs)
  clearMetricsNote()
  renderTiles(summary, window)
  renderTrafficCharts(state.history, at, chartWindowMs)
  renderModels(summary)
  return summary
}

async function refresh() {
  if (state.running || !state.key) return
  state.running = true
  const now = Date.now()
  try {
    const [metrics, keys, providers] = await Promise.allSettled([
      loadMetrics(now),
      loadKeys(now),
      loadProviders(),
    ])
    const refused = [metrics, keys, providers].find(
      (r) => r.status === 'rejected' && r.reason instanceof SessionEnded,
    )
    if (refused) {
      signOut(`Signed out: ${refused.reason.message}`)
      return
    }
    const summary = showMetrics(metrics)
    if (keys.status === 'fulfilled') renderKeys(keys.value)
    else renderPanelError('keys', `Keys could not be read: ${keys.reason.message}`, 'keys-error')
    if (providers.status === 'rejected') {
      renderPanelError(
        'providers',
        `Providers could not be read: ${providers.reason.message}`,
        'providers-error',
      )
    } else if (providers.value === null) {
      renderTargetsFromMetrics(
        'Provider state unavailable: this gateway has no GET /admin/providers. Circuit states below are from /metrics.',
        summary?.targets,
      )
    } else {
      renderProviders(providers.value)
    }
    const failed = [metrics, keys, providers].some((r) => r.status === 'rejected')
    const status = byId('status')
    const stateText = failed ? 'Some data could not be read' : 'Live'
    if (byId('status-state').textContent !== stateText) byId('status-state').textContent = stateText
    byId('status-time').textContent = `· updated ${formatTime(new Date(now))}`
    status.dataset.state = failed ? 'degraded' : 'ok'
    status.dataset.refreshes = String(Number(status.dataset.refreshes ?? 0) + 1)
  } finally {
    state.running = false
    schedule()
  }
}

function intervalSeconds() {
  return Number(byId('refresh-interval').value)
}

function schedule() {
  clearTimeout(state.timer)
  state.timer = null
  const seconds = intervalSeconds()
  if (state.key && seconds > 0) state.timer = setTimeout(refresh, seconds * 1000)
}

function showDashboard(visible) {
  byId('login').hidden = visible
  byId('dashboard').hidden = !visible
  byId('session-controls').hidden = !visible
}

function signOut(reason = '') {
  sessionStorage.removeItem(keyStorage)
  clearTimeout(state.timer)
  Object.assign(state, { key: null, settings: null, previous: null, history: [], timer: null })
  byId('login-error').textContent = reason
  byId('status-state').textContent = ''
  byId('status-time').textContent = ''
  delete byId('status').dataset.refreshes
  delete byId('status').dataset.state
  showDashboard(false)
  byId('master-key').focus()
}

/** Checks the key against the gateway (GET /ui/settings needs the master key) and starts. */
async function start(key) {
  state.key = key
  const response = await call('/ui/settings').catch((err) => err)
  if (response instanceof Error || !response.ok) {
    const reason = response instanceof Error ? response.message : await errorText(response)
    state.key = null
    sessionStorage.removeItem(keyStorage)
    return reason
  }
  state.settings = await response.json()
  sessionStorage.setItem(keyStorage, key)
  const metrics = state.settings.metrics
  byId('metrics-source').textContent = metrics.enabled ? `metrics from ${metrics.path}` : 'metrics off'
  showDashboard(true)
  await refresh()
  return null
}

function init() {
  const interval = byId('refresh-interval')
  const saved = sessionStorage.getItem(intervalStorage)
  if (saved !== null && [...interval.options].some((o) => o.value === saved)) interval.value = saved
  interval.addEventListener('change', () => {
    sessionStorage.setItem(intervalStorage, interval.value)
    schedule()
  })
  byId('refresh-now').addEventListener('click', () => refresh())
  byId('sign-out').addEventListener('click', () => signOut())
  byId('login-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const input = byId('master-key')
    const key = input.value.trim()
    if (key === '') return
    byId('login-error').textContent = ''
    const problem = await start(key)
    input.value = ''
    if (problem) byId('login-error').textContent = `Not signed in: ${problem}`
  })
  const remembered = sessionStorage.getItem(keyStorage)
  if (remembered) start(remembered).then((problem) => problem && signOut(problem))
}

init()
