// Turns what dashboard-data.js computed into the page's panels. Every figure a test reads carries
// a data-testid; every value is inserted as text (dom.js).
import { barChart, lineChart } from './charts.js'
import { budgetLevel } from './dashboard-data.js'
import { byId, h } from './dom.js'
import {
  dash,
  formatCompact,
  formatCount,
  formatPercent,
  formatRate,
  formatSeconds,
  formatUsd,
} from './format.js'

function setText(id, text) {
  byId(id).textContent = text
}

function message(text, testId, className = 'note') {
  return h('p', { class: className, 'data-testid': testId }, text)
}

/** The tiles: totals since start, and the rates of the last refresh interval. */
export function renderTiles(summary, window) {
  setText('stat-rps', window ? formatRate(window.rps) : dash)
  setText('stat-errors-per-second', window ? formatRate(window.errorsPerSecond) : dash)
  setText('stat-requests', formatCount(summary.requests))
  setText('stat-inflight', formatCount(summary.inflight))
  setText('stat-error-rate', summary.requests > 0 ? formatPercent(summary.errors / summary.requests) : dash)
  setText('stat-errors', formatCount(summary.errors))
  setText('stat-server-errors', formatCount(summary.serverErrors))
  for (const [q, name] of [
    [0.5, 'p50'],
    [0.95, 'p95'],
    [0.99, 'p99'],
  ]) {
    setText(`stat-latency-${name}`, formatSeconds(summary.latency[q]))
    setText(`stat-ttft-${name}`, formatSeconds(summary.firstToken[q]))
  }
  setText('stat-tokens', formatCount(summary.promptTokens + summary.completionTokens))
  setText('stat-prompt-tokens', formatCount(summary.promptTokens))
  setText('stat-completion-tokens', formatCount(summary.completionTokens))
  setText('stat-cost', formatUsd(summary.costUsd))
}

/** Blank tiles with a reason, when /metrics is off or could not be read. */
export function renderMetricsUnavailable(reason) {
  for (const tile of document.querySelectorAll('.tile .value, .tile dd, .tile .sub span')) {
    tile.textContent = dash
  }
  const note = byId('metrics-note')
  note.textContent = reason
  note.hidden = false
  byId('traffic-charts').replaceChildren()
  byId('model-charts').replaceChildren()
  byId('models').replaceChildren(message(reason, 'models-unavailable'))
}

export function clearMetricsNote() {
  byId('metrics-note').hidden = true
}

/** history: [{ t, window }] oldest first, one per refresh. */
export function renderTrafficCharts(history, now, windowMs) {
  const points = (pick) => history.map(({ t, window }) => [t, pick(window)])
  byId('traffic-charts').replaceChildren(
    lineChart({
      label: 'Requests per second',
      testId: 'chart-rps',
      series: [
        { name: 'requests / s', className: 'series-a', points: points((w) => w.rps) },
        { name: 'errors / s', className: 'series-err', points: points((w) => w.errorsPerSecond) },
      ],
      format: (v) => formatRate(v),
      windowMs,
      now,
    }),
    lineChart({
      label: 'p95 latency and time to first token',
      testId: 'chart-latency',
      series: [
        { name: 'latency p95', className: 'series-a', points: points((w) => w.latencyP95) },
        { name: 'TTFT p95', className: 'series-b', points: points((w) => w.firstTokenP95) },
      ],
      format: formatSeconds,
      windowMs,
      now,
    }),
  )
}

function numberCell(text, testId) {
  return h('td', { class: 'num', 'data-testid': testId }, text)
}

export function renderModels(summary) {
  const models = summary.models
  byId('model-charts').replaceChildren(
    barChart({
      label: 'Tokens per model',
      testId: 'chart-tokens',
      rows: models.map((m) => ({
        label: m.model,
        segments: [
          { name: 'prompt', className: 'series-a', value: m.promptTokens },
          { name: 'completion', className: 'series-b', value: m.completionTokens },
        ],
      })),
      segmentNames: [
        { name: 'prompt', className: 'series-a' },
        { name: 'completion', className: 'series-b' },
      ],
      format: formatCompact,
    }),
    barChart({
      label: 'Cost per model',
      testId: 'chart-cost',
      rows: models.map((m) => ({
        label: m.model,
        segments: [{ name: 'cost', className: 'series-c', value: m.costUsd }],
      })),
      format: formatUsd,
    }),
  )
  if (models.length === 0) {
    byId('models').replaceChildren(message('No inference calls yet.', 'models-empty'))
    return
  }
  const head = ['Model', 'Requests', 'Errors', 'Prompt tokens', 'Completion tokens', 'Cost', 'p50', 'p95']
  byId('models').replaceChildren(
    h(
      'table',
      { 'data-testid': 'models-table' },
      h('caption', { class: 'visually-hidden' }, 'Calls, tokens, cost and latency per model since start'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((text, i) => h('th', { scope: 'col', class: i > 0 ? 'num' : null }, text)),
        ),
      ),
      h(
        'tbody',
        {},
        models.map((m) =>
          h(
            'tr',
            { 'data-testid': 'model-row', 'data-model': m.model },
            h('th', { scope: 'row' }, h('code', {}, m.model)),
            numberCell(formatCount(m.requests), 'model-requests'),
            numberCell(formatCount(m.errors), 'model-errors'),
            numberCell(formatCount(m.promptTokens), 'model-prompt-tokens'),
            numberCell(formatCount(m.completionTokens), 'model-completion-tokens'),
            numberCell(formatUsd(m.costUsd), 'model-cost'),
            numberCell(formatSeconds(m.latency[0.5]), 'model-latency-p50'),
            numberCell(formatSeconds(m.latency[0.95]), 'model-latency-p95'),
          ),
        ),
      ),
    ),
  )
}

function budgetCell(budget) {
  if (!budget) return h('td', { class: 'muted', 'data-testid': 'key-budget' }, 'no budget')
  const level = budgetLevel(budget.ratio)
  const share = Math.min(1, budget.ratio)
  return h(
    'td',
    { 'data-testid': 'key-budget', 'data-level': level },
    h(
      'div',
      { class: 'budget-text' },
      h('span', { 'data-testid': 'key-budget-spent' }, formatUsd(budget.spentUsd)),
      ' of ',
      h('span', { 'data-testid': 'key-budget-amount' }, formatUsd(budget.amountUsd)),
      ` ${budget.period} · `,
      h('span', { 'data-testid': 'key-budget-percent' }, formatPercent(budget.ratio)),
    ),
    h(
      'div',
      { class: 'budget-bar', 'aria-hidden': 'true' },
      h('span', { class: `budget-fill ${level}`, 'data-share': share.toFixed(4) }),
    ),
  )
}

function limitsText(row) {
  const parts = []
  if (row.rpm !== null) parts.push(`${formatCount(row.rpm)} rpm`)
  if (row.tpm !== null) parts.push(`${formatCount(row.tpm)} tpm`)
  return parts.length > 0 ? parts.join(' · ') : dash
}

export function renderKeys(rows) {
  if (rows.length === 0) {
    byId('keys').replaceChildren(message('No virtual keys and no spend this month.', 'keys-empty'))
    return
  }
  const head = ['Key', 'Status', 'Limits', 'Requests (month)', 'Tokens (month)', 'Cost (month)', 'Budget']
  const table = h(
    'table',
    { 'data-testid': 'keys-table' },
    h('caption', { class: 'visually-hidden' }, 'Virtual keys, their spend this month and their budgets'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((text, i) => h('th', { scope: 'col', class: i >= 3 && i <= 5 ? 'num' : null }, text)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((row) =>
        h(
          'tr',
          { 'data-testid': 'key-row', 'data-key-id': row.id },
          h(
            'th',
            { scope: 'row' },
            h('span', { 'data-testid': 'key-name' }, row.name),
            h('span', { class: 'key-id' }, row.hint ? `${row.id} · …${row.hint}` : row.id),
          ),
          h('td', {}, h('span', { class: `badge ${row.status}`, 'data-testid': 'key-status' }, row.status)),
          h('td', {}, limitsText(row)),
          numberCell(formatCount(row.month.requests), 'key-month-requests'),
          numberCell(formatCount(row.month.prompt_tokens + row.month.completion_tokens), 'key-month-tokens'),
          numberCell(formatUsd(row.month.cost_usd), 'key-month-cost'),
          budgetCell(row.budget),
        ),
      ),
    ),
  )
  byId('keys').replaceChildren(table)
  // Widths through CSSOM, not a style attribute: the page's CSP allows no inline styles.
  for (const fill of table.querySelectorAll('.budget-fill')) {
    fill.style.width = `${(Number(fill.dataset.share) * 100).toFixed(1)}%`
  }
}

export function renderPanelError(id, text, testId) {
  byId(id).replaceChildren(message(text, testId, 'error'))
}

const circuitLabels = { closed: 'closed', half_open: 'half open', open: 'open', unknown: 'unknown' }

function circuitBadge(state) {
  return h(
    'span',
    { class: `badge circuit-${state}`, 'data-testid': 'target-circuit', 'data-state': state },
    circuitLabels[state] ?? state,
  )
}

function targetTable(head, rows) {
  return h(
    'table',
    { class: 'targets' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((text) => h('th', { scope: 'col' }, text)),
      ),
    ),
    h('tbody', {}, rows),
  )
}

/** The providers from GET /admin/providers, each with its targets. */
export function renderProviders(providers) {
  if (providers.length === 0) {
    byId('providers').replaceChildren(message('No providers are configured.', 'providers-empty'))
    return
  }
  const cards = providers.map((p) => {
    const override =
      p.runtime_override === null || p.runtime_override === undefined ? null : 'runtime override'
    return h(
      'article',
      { class: 'card provider', 'data-testid': 'provider', 'data-provider': p.name },
      h(
        'header',
        {},
        h('h3', {}, p.name),
        h('span', { class: 'muted' }, p.type ?? 'plugin'),
        h(
          'span',
          { class: `badge ${p.enabled ? 'active' : 'disabled'}`, 'data-testid': 'provider-enabled' },
          p.enabled ? 'enabled' : 'disabled',
        ),
        override ? h('span', { class: 'badge warn' }, override) : null,
        p.base_url ? h('code', { class: 'muted base-url' }, p.base_url) : null,
      ),
      p.targets.length === 0
        ? h('p', { class: 'muted' }, 'No public model routes to this provider.')
        : targetTable(
            ['Target', 'Model', 'Upstream model', 'Circuit', 'In flight', 'Healthy'],
            p.targets.map((t) =>
              h(
                'tr',
                { 'data-testid': 'target-row', 'data-target': t.id },
                h('th', { scope: 'row' }, h('code', {}, t.id)),
                h('td', {}, t.model ?? dash),
                h('td', {}, t.upstream_model ?? dash),
                h('td', {}, circuitBadge(t.circuit)),
                h('td', { class: 'num', 'data-testid': 'target-inflight' }, formatCount(t.inflight)),
                h('td', { 'data-testid': 'target-healthy' }, t.healthy ? 'yes' : 'no'),
              ),
            ),
          ),
    )
  })
  byId('providers').replaceChildren(...cards)
}

/** Without GET /admin/providers: say so, and show the circuit states /metrics has. */
export function renderTargetsFromMetrics(reason, targets) {
  const note = message(reason, 'providers-unavailable', 'note')
  if (!targets || targets.length === 0) {
    byId('providers').replaceChildren(note)
    return
  }
  byId('providers').replaceChildren(
    note,
    targetTable(
      ['Target', 'Circuit', 'In flight'],
      targets.map((t) =>
        h(
          'tr',
          { 'data-testid': 'target-row', 'data-target': t.id },
          h('th', { scope: 'row' }, h('code', {}, t.id)),
          h('td', {}, circuitBadge(t.circuit)),
          h('td', { class: 'num', 'data-testid': 'target-inflight' }, formatCount(t.inflight)),
        ),
      ),
    ),
  )
}
