// config/grafana/anygate.json queries only metrics the gateway exposes: every PromQL expression in
// it (panels and variables) is parsed for its metric names, and each must be a metric family on
// GET /metrics of a running app after some traffic.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody } from './helpers/app.js'

interface Target {
  expr?: string
}
interface Panel {
  id?: number
  type: string
  title: string
  datasource?: { type: string; uid: string }
  targets?: Target[]
  panels?: Panel[]
}
interface Dashboard {
  schemaVersion: number
  uid: string
  panels: Panel[]
  templating: { list: { name: string; type: string; query?: unknown; datasource?: { uid: string } }[] }
}

const dashboard = JSON.parse(readFileSync('config/grafana/anygate.json', 'utf8')) as Dashboard

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])])
}

/** Every PromQL expression: panel targets, and the selector inside a variable's label_values(). */
function expressions(board: Dashboard): string[] {
  const fromPanels = allPanels(board.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))
  const fromVariables = board.templating.list.flatMap((variable) => {
    const query = variable.query as { query?: string } | string | undefined
    const text = typeof query === 'string' ? query : query?.query
    if (variable.type !== 'query' || !text) return []
    const selector = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(text.trim())
    if (!selector) throw new Error(`variable ${variable.name}: not a label_values() query: ${text}`)
    return [selector[1]!]
  })
  return [...fromPanels, ...fromVariables]
}

const keywords = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
])

/**
 * The metric names a PromQL expression selects: strings, label matchers, ranges and grouping
 * clauses removed, then every identifier that is not a function call or a keyword.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/(?<![\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1]!
    if (!keywords.has(name.toLowerCase())) names.add(name)
  }
  return [...names]
}

/** `# TYPE <name> <type>` lines: the metric families the exposition declares. */
function familiesOf(text: string): Map<string, string> {
  const families = new Map<string, string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1]!, match[2]!)
  return families
}

/**
 * The family a queried series belongs to. `_bucket`, `_sum` and `_count` are stripped only when what
 * is left is a histogram (or, for _sum/_count, a summary): a counter may end in `_count` itself.
 */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name)
  if (!suffix) return undefined
  const [, base, part] = suffix
  const type = families.get(base!)
  if (type === 'histogram') return base
  if (type === 'summary' && part !== 'bucket') return base
  return undefined
}

describe('the Grafana dashboard', () => {
  it('is a Grafana dashboard on a Prometheus datasource variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    )
    const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row')
    expect(panels.length).toBeGreaterThanOrEqual(15)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, the datasource chosen
    const chosen = { type: 'prometheus', uid: '${datasource}' }
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(chosen)
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
    }
    const ids = allPanels(dashboard.panels).map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('extracts metric names from PromQL, not functions, labels, ranges or keywords', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, model) (rate(anygate_x_bucket{model=~"$model", a!="b{c}"}[$__rate_interval])))',
      ),
    ).toEqual(['anygate_x_bucket'])
    expect(
      metricNamesIn('sum(rate(a_total{r="hit"}[5m])) / on (job) group_left sum(rate(b_total[5m])) * 3600'),
    ).toEqual(['a_total', 'b_total'])
    expect(metricNamesIn('max by (target) (anygate_circuit_state) > bool 1 unless c offset 5m')).toEqual([
      'anygate_circuit_state',
      'c',
    ])
  })

  it('queries only metrics that a running gateway exposes', async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' } },
      models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
    })
    const post = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/v1/chat/completions', payload })
    await post(chatBody('echo'))
    await post(chatBody('echo', 'stream it', { stream: true }))
    await post(chatBody('mock/error-503'))
    await post(chatBody('no-such-model'))
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    const families = familiesOf(res.body)

    const queried = new Set(expressions(dashboard).flatMap(metricNamesIn))
    expect(queried.size).toBeGreaterThanOrEqual(15)
    const missing = [...queried].filter((name) => familyOf(name, families) === undefined)
    expect(missing).toEqual([])
    // The dashboard covers every anygate_* family the gateway exposes.
    const shown = new Set([...queried].map((name) => familyOf(name, families)))
    const anygate = [...families.keys()].filter((name) => name.startsWith('anygate_'))
    expect(anygate.filter((name) => !shown.has(name))).toEqual([])
  })
})
