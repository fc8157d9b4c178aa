// GET /ui in a real headless Chromium (Debian's chromium package, driven by playwright-core): the
// gateway serves a fake OpenAI upstream's calls, the page signs in with the master key, and every
// number it shows is checked against GET /metrics and GET /admin/spend fetched by the test.
// Counts, tokens and cost match exactly (to the shown precision); percentiles lie in the histogram
// bucket the quantile falls in. A screenshot is left in test/artifacts/dashboard.png.
//
// Without chromium the test is skipped, except under CI=true, where it fails: .ci/run installs it.
import { accessSync, constants, mkdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { listenTestApp } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import { completionBody, sendJson, startFakeUpstream, streamAnswer } from './helpers/fake-upstream.js'
import { parseSamples, type Sample } from './helpers/prometheus.js'

const masterKey = 'master-key-DASHBOARD-0000-aaaa'
const virtualKey = 'sk-team-a-DASHBOARD-1111-bbbb'
const providerKey = 'sk-provider-DASHBOARD-2222-cccc'
const artifact = join(import.meta.dirname, 'artifacts', 'dashboard.png')

function findExecutable(names: string[]): string | null {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) return fromEnv
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK)
        return join(dir, name)
      } catch {}
    }
  }
  return null
}

const executablePath = findExecutable(['chromium', 'chromium-browser'])
const inCi = process.env.CI === 'true'
const skipReason = 'chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)'
if (!executablePath && !inCi) console.warn(`dashboard-ui.test.ts skipped: ${skipReason}`)

// --- what the test reads from the gateway itself, independently of the page's own modules ---

const total = (samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true) =>
  samples.filter((s) => s.name === name && where(s.labels)).reduce((sum, s) => sum + s.value, 0)

/** The [lower, upper] bounds of the bucket holding the q-th observation of a histogram, all series summed. */
function quantileBounds(samples: Sample[], histogram: string, q: number): [number, number] {
  const byLe = new Map<number, number>()
  for (const s of samples.filter((s) => s.name === `${histogram}_bucket`)) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
    byLe.set(le, (byLe.get(le) ?? 0) + s.value)
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0])
  const rank = q * buckets[buckets.length - 1]![1]
  let lower = 0
  for (const [le, count] of buckets) {
    if (count >= rank) return [lower, le]
    lower = le
  }
  throw new Error(`no bucket for q=${q}`)
}

// --- what the page shows ---

const parseCount = (text: string) => Number(text.replaceAll(',', ''))
const parseUsd = (text: string) => (text === '$0' ? 0 : Number(text.replace('$', '').replaceAll(',', '')))
function parseSeconds(text: string): number {
  const match = /^([\d.]+) (ms|s)$/.exec(text)
  if (!match) throw new Error(`not a duration: ${text}`)
  return Number(match[1]) / (match[2] === 'ms' ? 1000 : 1)
}

async function shown(page: Page, selector: string): Promise<string> {
  const text = await page.locator(selector).first().textContent()
  return (text ?? '').trim()
}
const testId = (id: string) => `[data-testid="${id}"]`

/** Waits for the page to finish a refresh after the `after`-th; returns how many it has done. */
async function waitForRefresh(page: Page, after: number): Promise<number> {
  const refreshes = async () => Number((await page.getByTestId('status').getAttribute('data-refreshes')) ?? 0)
  await expect.poll(refreshes, { timeout: 15_000 }).toBeGreaterThan(after)
  return refreshes()
}

async function startGateway() {
  const upstream = await startFakeUpstream(async (req, res) => {
    const body = req.body as { model?: string; stream?: boolean }
    if (body.model === 'gpt-broken') {
      sendJson(res, 500, {
        error: { message: 'upstream exploded', type: 'server_error', param: null, code: null },
      })
      return
    }
    if (body.stream) return streamAnswer(res, ['Hel', 'lo', '!'])
    // A little time upstream, so latencies land in more than the first bucket.
    await new Promise((resolve) => setTimeout(resolve, 30))
    sendJson(res, 200, completionBody('Hello!', 'gpt-test'))
  })
  const provider = { type: 'openai', base_url: upstream.url, api_key: providerKey }
  const price = { input_per_mtok: 1000, output_per_mtok: 2000 } // 7 + 3 tokens: $0.013 a call
  const gateway = await listenTestApp({
    auth: {
      master_key: masterKey,
      keys: [{ name: 'team-a', key: virtualKey, rpm: 600, budget: { amount_usd: 0.1, period: 'daily' } }],
    },
    routing: { retries: 0, circuit_breaker: { consecutive_failures: 1, cooldown_s: 600 } },
    providers: { main: provider, flaky: provider },
    models: [
      { name: 'chat', targets: [{ provider: 'main', model: 'gpt-test', price }] },
      { name: 'broken', targets: [{ provider: 'flaky', model: 'gpt-broken', price }] },
    ],
  })
  return gateway
}

async function chat(origin: string, key: string, model: string, stream = false): Promise<number> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: 'hello' }],
      // The budget reserves what a call may cost: bounded output keeps that below the daily budget.
      max_tokens: 5,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  })
  await response.arrayBuffer()
  return response.status
}

async function scrape(origin: string): Promise<Sample[]> {
  const response = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${masterKey}` } })
  expect(response.status).toBe(200)
  return parseSamples(await response.text())
}

const isCall = (l: Record<string, string>) => l.model !== ''
const isError = (l: Record<string, string>) => isCall(l) && /^[45]xx$/.test(l.status_class ?? '')

async function launch(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: executablePath!, args: ['--no-sandbox'] })
  closeAfterTest(() => browser.close())
  return browser
}

describe('GET /ui in headless Chromium', () => {
  it.skipIf(!executablePath && !inCi)(
    'signs in with the master key and shows the numbers /metrics and the spend API hold',
    async () => {
      if (!executablePath) throw new Error(`CI=true and ${skipReason}: .ci/run must install it`)
      const { app, origin } = await startGateway()

      // 3 JSON and 2 streamed calls with the virtual key, 1 with the master key, 1 that fails upstream.
      for (let i = 0; i < 3; i++) expect(await chat(origin, virtualKey, 'chat')).toBe(200)
      for (let i = 0; i < 2; i++) expect(await chat(origin, virtualKey, 'chat', true)).toBe(200)
      expect(await chat(origin, masterKey, 'chat')).toBe(200)
      expect(await chat(origin, virtualKey, 'broken')).toBe(502)
      await app.spend.flush()

      const browser = await launch()
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } })
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (message) => {
        // A refused sign-in and a 4xx answer log "Failed to load resource"; anything else is a fault,
        // a Content-Security-Policy violation included.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
          problems.push(`console: ${message.text()}`)
      })

      await page.goto(`${origin}/ui`)
      expect(page.url()).toBe(`${origin}/ui/`)
      expect(await page.getByTestId('docs-link').getAttribute('href')).toBe('/docs')

      // A virtual key is not enough: the page needs the master key.
      await page.getByTestId('master-key').fill(virtualKey)
      await page.getByTestId('sign-in').click()
      await page.getByTestId('login-error').filter({ hasText: 'Not signed in' }).waitFor()
      expect(await page.locator('#dashboard').isHidden()).toBe(true)

      await page.getByTestId('master-key').fill(masterKey)
      await page.getByTestId('sign-in').click()
      await waitForRefresh(page, 0)
      expect(page.url()).not.toContain(masterKey)

      const samples = await scrape(origin)
      const requests = total(samples, 'anygate_requests_total', isCall)
      const errors = total(samples, 'anygate_requests_total', isError)
      const prompt = total(samples, 'anygate_tokens_total', (l) => l.type === 'prompt')
      const completion = total(samples, 'anygate_tokens_total', (l) => l.type === 'completion')
      const cost = total(samples, 'anygate_cost_usd_total')
      expect([requests, errors, prompt, completion]).toEqual([7, 1, 42, 18])
      expect(cost).toBeCloseTo(0.078, 9)

      expect(parseCount(await shown(page, testId('stat-requests')))).toBe(requests)
      expect(parseCount(await shown(page, testId('stat-errors')))).toBe(errors)
      expect(parseCount(await shown(page, testId('stat-server-errors')))).toBe(
        total(samples, 'anygate_requests_total', (l) => isCall(l) && l.status_class === '5xx'),
      )
      expect(await shown(page, testId('stat-error-rate'))).toBe(`${((errors / requests) * 100).toFixed(1)}%`)
      expect(parseCount(await shown(page, testId('stat-prompt-tokens')))).toBe(prompt)
      expect(parseCount(await shown(page, testId('stat-completion-tokens')))).toBe(completion)
      expect(parseCount(await shown(page, testId('stat-tokens')))).toBe(prompt + completion)
      expect(parseUsd(await shown(page, testId('stat-cost')))).toBeCloseTo(cost, 6)
      expect(parseCount(await shown(page, testId('stat-inflight')))).toBe(0)

      // Percentiles: shown with three significant digits, inside the bucket PromQL would interpolate in.
      for (const [histogram, prefix] of [
        ['anygate_request_duration_seconds', 'stat-latency'],
        ['anygate_time_to_first_token_seconds', 'stat-ttft'],
      ] as const) {
        for (const [q, name] of [
          [0.5, 'p50'],
          [0.95, 'p95'],
          [0.99, 'p99'],
        ] as const) {
          const [lower, upper] = quantileBounds(samples, histogram, q)
          const value = parseSeconds(await shown(page, testId(`${prefix}-${name}`)))
          expect(value, `${prefix}-${name}`).toBeGreaterThanOrEqual(lower * 0.995)
          expect(value, `${prefix}-${name}`).toBeLessThanOrEqual(upper * 1.005)
        }
      }

      // Per model: the same sums, by the model label.
      for (const model of ['chat', 'broken']) {
        const row = `[data-testid="model-row"][data-model="${model}"]`
        const ofModel = (l: Record<string, string>) => l.model === model
        expect(parseCount(await shown(page, `${row} ${testId('model-requests')}`))).toBe(
          total(samples, 'anygate_requests_total', ofModel),
        )
        expect(parseCount(await shown(page, `${row} ${testId('model-errors')}`))).toBe(
          total(samples, 'anygate_requests_total', (l) => ofModel(l) && isError(l)),
        )
        expect(parseCount(await shown(page, `${row} ${testId('model-prompt-tokens')}`))).toBe(
          total(samples, 'anygate_tokens_total', (l) => ofModel(l) && l.type === 'prompt'),
        )
        expect(parseUsd(await shown(page, `${row} ${testId('model-cost')}`))).toBeCloseTo(
          total(samples, 'anygate_cost_usd_total', ofModel),
          6,
        )
      }

      // Keys: this month's spend and the daily budget, as GET /admin/spend reports them.
      const spend = (await (
        await fetch(`${origin}/admin/spend?group_by=key`, {
          headers: { authorization: `Bearer ${masterKey}` },
        })
      ).json()) as { data: { group: string; requests: number; cost_usd: number }[] }
      const teamSpend = spend.data.find((row) => row.group === 'cfg-team-a')!
      expect(teamSpend.cost_usd).toBeCloseTo(0.065, 9)
      const keyRow = '[data-testid="key-row"][data-key-id="cfg-team-a"]'
      expect(await shown(page, `${keyRow} ${testId('key-name')}`)).toBe('team-a')
      expect(await shown(page, `${keyRow} ${testId('key-status')}`)).toBe('active')
      expect(parseCount(await shown(page, `${keyRow} ${testId('key-month-requests')}`))).toBe(
        teamSpend.requests,
      )
      expect(parseUsd(await shown(page, `${keyRow} ${testId('key-month-cost')}`))).toBeCloseTo(
        teamSpend.cost_usd,
        6,
      )
      expect(parseUsd(await shown(page, `${keyRow} ${testId('key-budget-spent')}`))).toBeCloseTo(
        teamSpend.cost_usd,
        6,
      )
      expect(parseUsd(await shown(page, `${keyRow} ${testId('key-budget-amount')}`))).toBe(0.1)
      expect(await shown(page, `${keyRow} ${testId('key-budget-percent')}`)).toBe('65.0%')
      expect(await page.locator(`${keyRow} ${testId('key-budget')}`).getAttribute('data-level')).toBe('ok')
      expect(await page.locator('[data-testid="key-row"][data-key-id="master"]').count()).toBe(1)
      const keysText = (await page.getByTestId('keys-panel').textContent()) ?? ''
      expect(keysText).not.toContain(virtualKey)

      // Targets: every circuit the gauge reports, in the same state; the broken target's is open.
      const circuitNames = ['closed', 'half_open', 'open']
      const circuits = samples.filter((s) => s.name === 'anygate_circuit_state')
      expect(circuits.map((s) => s.labels.target).sort()).toEqual(['flaky/gpt-broken', 'main/gpt-test'])
      for (const s of circuits) {
        const state = await page
          .locator(`[data-testid="target-row"][data-target="${s.labels.target}"] ${testId('target-circuit')}`)
          .getAttribute('data-state')
        expect(state, s.labels.target).toBe(circuitNames[s.value])
      }
      // GET /admin/providers is new: an older gateway answers 404 and the panel says so.
      const providersApi = (
        await fetch(`${origin}/admin/providers`, { headers: { authorization: `Bearer ${masterKey}` } })
      ).status
      if (providersApi === 404) {
        expect(await page.getByTestId('providers-unavailable').count()).toBe(1)
      } else {
        expect(providersApi).toBe(200)
        expect(await page.locator('[data-testid="provider"]').count()).toBe(2)
        expect(
          await shown(
            page,
            `[data-testid="target-row"][data-target="flaky/gpt-broken"] ${testId('target-healthy')}`,
          ),
        ).toBe('no')
      }

      // Live: faster refresh, more traffic, and the page follows with a rate above zero.
      await page.getByTestId('refresh-interval').selectOption('2')
      for (let i = 0; i < 3; i++) expect(await chat(origin, masterKey, 'chat')).toBe(200)
      await expect.poll(() => page.getByTestId('stat-requests').textContent(), { timeout: 15_000 }).toBe('10')
      // One more refresh after the one that saw the traffic: the rate chart then has two points.
      const seenTraffic = Number(await page.getByTestId('status').getAttribute('data-refreshes'))
      await waitForRefresh(page, seenTraffic)
      const after = await scrape(origin)
      expect(parseCount(await shown(page, testId('stat-requests')))).toBe(
        total(after, 'anygate_requests_total', isCall),
      )
      expect(Number(await page.getByTestId('chart-rps').getAttribute('data-peak'))).toBeGreaterThan(0)
      expect(Number(await page.getByTestId('chart-rps').getAttribute('data-points'))).toBeGreaterThanOrEqual(
        4,
      )
      expect(await page.locator(`${testId('chart-tokens')} svg rect`).count()).toBeGreaterThanOrEqual(4)

      mkdirSync(join(import.meta.dirname, 'artifacts'), { recursive: true })
      await page.screenshot({ path: artifact, fullPage: true })
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.screenshot({ path: artifact.replace('.png', '-dark.png'), fullPage: true })

      // Signing out forgets the key.
      await page.getByTestId('sign-out').click()
      expect(await page.locator('#login').isVisible()).toBe(true)
      expect(await page.evaluate("sessionStorage.getItem('anygate.dashboard.key')")).toBeNull()
      expect(problems).toEqual([])
    },
    120_000,
  )
})
