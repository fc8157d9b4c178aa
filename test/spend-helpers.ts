// What the spend, pricing and budget tests share: an app built with a clock they move by hand (spend
// days and budget periods follow it), config-declared keys with budgets, and a loopback OpenAI
// upstream that reports the usage a test asks for.
import type { FastifyInstance } from 'fastify'
import type { TokenUsage } from '../plugins/call-record.js'
import { buildTestApp, listenTestApp, type TestAppOptions } from './helpers/app.js'
import { manualClock as clockAt } from './helpers/clock.js'
import { type FakeUpstream, type RecordedRequest, startFakeUpstream } from './helpers/fake-upstream.js'
import { answerWithUsage, type WireUsage } from './helpers/usage-upstream.js'

export const masterKey = 'sk-master-spend-tests-0123456789'

const dayMs = 86_400_000

/**
 * 10:00 UTC of today (real time): a test's clock starts there, since Redis expires keys by its own
 * real clock and a fixed date would one day lie in the past.
 */
export const todayAt10 = Date.now() - (Date.now() % dayMs) + 10 * 3_600_000

/** A wall clock a test sets and moves; starts at todayAt10. */
export const manualClock = (start = todayAt10) => clockAt(start)

export interface SpendTestApp {
  app: FastifyInstance
  logs: Record<string, unknown>[]
  rawLogs: string[]
  origin: string
}

export interface SpendAppOptions {
  now?: () => number
  listen?: boolean
  alertRetryDelaysMs?: number[]
  /** Runs before ready, e.g. to add a hook the test observes with. */
  setup?: (app: FastifyInstance) => void
}

/** A test app with short spend retries; `origin` is empty unless it listens. */
export async function buildSpendApp(
  raw: Record<string, unknown>,
  options: SpendAppOptions = {},
): Promise<SpendTestApp> {
  const appOptions: TestAppOptions = {
    setup: options.setup,
    spend: {
      now: options.now,
      retryDelaysMs: [5, 10],
      alertRetryDelaysMs: options.alertRetryDelaysMs ?? [5, 10],
    },
  }
  if (options.listen) return listenTestApp(raw, appOptions)
  return { ...(await buildTestApp(raw, appOptions)), origin: '' }
}

/** A config-declared key: its id is `cfg-<name>`, its secret is derived from the name. */
export function configKey(name: string, extra: Record<string, unknown> = {}) {
  return { name, key: `sk-test-${name}-0123456789abcdef`, ...extra }
}

export const bearer = (name: string) => ({ authorization: `Bearer sk-test-${name}-0123456789abcdef` })
export const masterAuth = { authorization: `Bearer ${masterKey}` }

/** An upstream that answers every chat call with `usage` (JSON or stream) and embeddings likewise. */
export async function startUsageUpstream(
  usageFor: (req: RecordedRequest) => TokenUsage = () => ({ prompt: 7, completion: 3, cachedPrompt: 0 }),
): Promise<FakeUpstream> {
  return startFakeUpstream((req, res) => answerWithUsage(req, res, openAIUsage(usageFor(req))))
}

export function openAIUsage(usage: TokenUsage): WireUsage {
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    ...(usage.cachedPrompt > 0 ? { prompt_tokens_details: { cached_tokens: usage.cachedPrompt } } : {}),
  }
}

/** A config with one openai provider at `upstream` and public models for it. */
export function upstreamConfig(upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return {
    providers: { up: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream-secret-value' } },
    models: [
      { name: 'smart', targets: [{ provider: 'up', model: 'gpt-4o-2024-08-06' }] },
      { name: 'embed', targets: [{ provider: 'up', model: 'text-embedding-3-small' }] },
    ],
    ...extra,
  }
}

/** $1 per million tokens each way: a call of 1000 prompt and 1000 completion tokens costs $0.002. */
export const dollarPerMtok = { input_per_mtok: 1, output_per_mtok: 1 }

/** A public model served by `upstreamModel` on the `up` provider at `price`. */
export function pricedModel(
  name: string,
  upstreamModel: string,
  price: Record<string, number> = dollarPerMtok,
) {
  return { name, targets: [{ provider: 'up', model: upstreamModel, price }] }
}

/**
 * upstreamConfig where the master key and the config-declared `keys` authenticate; the other
 * sections (models, store, budgets...) are taken as given.
 */
export function spendConfig(
  upstream: FakeUpstream,
  { keys, ...sections }: { keys: Record<string, unknown>[] } & Record<string, unknown>,
) {
  return { ...upstreamConfig(upstream), auth: { master_key: masterKey, keys }, ...sections }
}
