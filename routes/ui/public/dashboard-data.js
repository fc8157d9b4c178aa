// What the panels show, computed from parsed /metrics samples and the admin API's JSON. Pure
// functions, no DOM and no fetch: the page renders what these return, and the tests check them.
import {
  bucketIncrease,
  counterRate,
  histogramBuckets,
  histogramQuantile,
  sumBy,
  sumOf,
} from './prometheus.js'

export const quantiles = [0.5, 0.95, 0.99]

const requestsMetric = 'anygate_requests_total'
const durationMetric = 'anygate_request_duration_seconds'
const firstTokenMetric = 'anygate_time_to_first_token_seconds'

// Inference routes label every request with a model (`unknown` when none resolved); every other
// route (health, admin, the dashboard's own polling) with an empty one.
const isCall = (labels) => (labels.model ?? '') !== ''
const isError = (labels) => isCall(labels) && (labels.status_class === '4xx' || labels.status_class === '5xx')
const ofModel = (model) => (labels) => labels.model === model

const circuitNames = { 0: 'closed', 1: 'half_open', 2: 'open' }

function percentiles(buckets) {
  return Object.fromEntries(quantiles.map((q) => [q, histogramQuantile(q, buckets)]))
}

/** Totals since the gateway started, per model and per target: everything one scrape can say. */
export function summarize(samples) {
  const requestsByModel = sumBy(samples, requestsMetric, 'model', isCall)
  const errorsByModel = sumBy(samples, requestsMetric, 'model', isError)
  const promptByModel = sumBy(samples, 'anygate_tokens_total', 'model', (l) => l.type === 'prompt')
  const completionByModel = sumBy(samples, 'anygate_tokens_total', 'model', (l) => l.type === 'completion')
  const costByModel = sumBy(samples, 'anygate_cost_usd_total', 'model')
  const modelNames = new Set([...requestsByModel.keys(), ...promptByModel.keys(), ...costByModel.keys()])
  const models = [...modelNames].map((model) => ({
    model,
    requests: requestsByModel.get(model) ?? 0,
    errors: errorsByModel.get(model) ?? 0,
    promptTokens: promptByModel.get(model) ?? 0,
    completionTokens: completionByModel.get(model) ?? 0,
    costUsd: costByModel.get(model) ?? 0,
    latency: percentiles(histogramBuckets(samples, durationMetric, ofModel(model))),
  }))
  models.sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model))

  const circuit = sumBy(samples, 'anygate_circuit_state', 'target')
  const inflight = sumBy(samples, 'anygate_inflight_requests', 'target')
  const targets = [...new Set([...circuit.keys(), ...inflight.keys()])].sort().map((id) => ({
    id,
    circuit: circuitNames[circuit.get(id)] ?? 'unknown',
    inflight: inflight.get(id) ?? 0,
  }))

  const latencyBuckets = histogramBuckets(samples, durationMetric)
  const firstTokenBuckets = histogramBuckets(samples, firstTokenMetric)
  return {
    requests: sumOf(samples, requestsMetric, isCall),
    errors: sumOf(samples, requestsMetric, isError),
    serverErrors: sumOf(samples, requestsMetric, (l) => isCall(l) && l.status_class === '5xx'),
    promptTokens: sumOf(samples, 'anygate_tokens_total', (l) => l.type === 'prompt'),
    completionTokens: sumOf(samples, 'anygate_tokens_total', (l) => l.type === 'completion'),
    costUsd: sumOf(samples, 'anygate_cost_usd_total'),
    inflight: sumOf(samples, 'anygate_inflight_requests'),
    latency: percentiles(latencyBuckets),
    firstToken: percentiles(firstTokenBuckets),
    latencyBuckets,
    firstTokenBuckets,
    models,
    targets,
  }
}

/**
 * What happened between two scrapes: requests and errors per second, and the p95 latency and TTFT
 * of just those calls (NaN when there were none). Null for the first scrape.
 */
export function windowBetween(current, previous, seconds) {
  if (!previous) return null
  const rps = counterRate(current.requests, previous.requests, seconds)
  if (rps === null) return null
  const errorsPerSecond = counterRate(current.errors, previous.errors, seconds) ?? 0
  return {
    rps,
    errorsPerSecond,
    errorRate: rps > 0 ? errorsPerSecond / rps : Number.NaN,
    latencyP95: histogramQuantile(0.95, bucketIncrease(current.latencyBuckets, previous.latencyBuckets)),
    firstTokenP95: histogramQuantile(
      0.95,
      bucketIncrease(current.firstTokenBuckets, previous.firstTokenBuckets),
    ),
  }
}

const dayMs = 86_400_000
const pad = (n) => String(n).padStart(2, '0')

/** `YYYY-MM-DD` of the UTC day `ms` falls in, as the spend API names days. */
export function utcDay(ms) {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

/** The spend API allows a year and a leap day per request. */
const longestRangeDays = 366

/**
 * The first UTC day of a budget's current period, as the gateway counts it (plugins/spend/periods.ts):
 * days at 00:00, weeks from Monday, months from the 1st. A total budget never resets, so its spend
 * is read over the longest range the spend API answers.
 */
export function budgetPeriodStart(period, nowMs) {
  const dayStart = nowMs - (((nowMs % dayMs) + dayMs) % dayMs)
  switch (period) {
    case 'daily':
      return utcDay(dayStart)
    case 'weekly':
      return utcDay(dayStart - ((new Date(dayStart).getUTCDay() + 6) % 7) * dayMs)
    case 'monthly':
      return `${utcDay(dayStart).slice(0, 8)}01`
    default:
      return utcDay(dayStart - (longestRangeDays - 1) * dayMs)
  }
}

/** The `from` days to ask GET /admin/spend?group_by=key for: this month, and each budget's period. */
export function spendRangesFor(keys, nowMs) {
  const starts = new Set([budgetPeriodStart('monthly', nowMs)])
  for (const key of keys) if (key.budget) starts.add(budgetPeriodStart(key.budget.period, nowMs))
  return [...starts]
}

const zeroSpend = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 }

function rowsById(report) {
  return new Map((report?.data ?? []).map((row) => [row.group, row]))
}

/**
 * One row per key: its limits, this month's spend, and its budget against what was spent in the
 * budget's current period. `reports` maps a `from` day to that GET /admin/spend?group_by=key answer.
 * Principals that spent without being listed keys (master, anonymous) follow, without a budget.
 */
export function keyRows(keys, reports, nowMs) {
  const monthly = rowsById(reports.get(budgetPeriodStart('monthly', nowMs)))
  const rows = keys.map((key) => {
    const month = monthly.get(key.id) ?? zeroSpend
    let budget = null
    if (key.budget) {
      const spent = rowsById(reports.get(budgetPeriodStart(key.budget.period, nowMs))).get(key.id)
      const spentUsd = spent?.cost_usd ?? 0
      const amount = key.budget.amount_usd
      budget = {
        period: key.budget.period,
        amountUsd: amount,
        spentUsd,
        ratio: amount > 0 ? spentUsd / amount : spentUsd > 0 ? Number.POSITIVE_INFINITY : 0,
      }
    }
    return {
      id: key.id,
      name: key.name,
      hint: key.key_hint,
      source: key.source,
      status: keyStatus(key, nowMs),
      rpm: key.rpm ?? null,
      tpm: key.tpm ?? null,
      month,
      budget,
    }
  })
  const listed = new Set(keys.map((k) => k.id))
  for (const [id, month] of monthly) {
    if (listed.has(id)) continue
    rows.push({
      id,
      name: month.key_name ?? id,
      hint: null,
      source: null,
      status: 'active',
      rpm: null,
      tpm: null,
      month,
      budget: null,
    })
  }
  return rows
}

function keyStatus(key, nowMs) {
  if (key.disabled) return 'disabled'
  if (key.expires_at && Date.parse(key.expires_at) <= nowMs) return 'expired'
  return 'active'
}

/** ok below 80 % of the budget, warn from 80 %, over from 100 %: the colours of the budget bar. */
export function budgetLevel(ratio) {
  if (ratio >= 1) return 'over'
  if (ratio >= 0.8) return 'warn'
  return 'ok'
}
