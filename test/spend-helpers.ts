// What the spend, pricing and budget tests share: an app built with a clock they move by hand (spend
// days and budget periods follow it), config-declared keys with budgets, and a loopback OpenAI
// upstream that reports the usage a test asks for.
import type { ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../app.js'
import type { TokenUsage } from '../plugins/call-record.js'
import { redactPaths } from '../plugins/request-log.js'
import { testConfig } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
} from './helpers/fake-upstream.js'

export const masterKey = 'sk-master-spend-tests-0123456789'

const dayMs = 86_400_000

/**
 * 10:00 UTC of today (real time): a test's clock starts there, since Redis expires keys by its own
 * real clock and a fixed date would one day lie in the past.
 */
export const todayAt10 = Date.now() - (Date.now() % dayMs) + 10 * 3_600_000

/** A wall clock a test sets and moves; starts at todayAt10. */
export function manualClock(start = todayAt10) {
  let at = start
  return {
    now: () => at,
    set: (ms: number) => {
      at = ms
    },
    advance: (ms: number) => {
      at += ms
    },
  }
}

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

export async function buildSpendApp(
  raw: Record<string, unknown>,
  options: SpendAppOptions = {},
): Promise<SpendTestApp> {
  const logs: Record<string, unknown>[] = []
  const rawLogs: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      const text = chunk.toString()
      rawLogs.push(text)
      for (const line of text.split('\n').filter(Boolean)) logs.push(JSON.parse(line))
      callback()
    },
  })
  const logger = pino({ level: 'debug', redact: { paths: redactPaths, censor: '[redacted]' } }, sink)
  const app = await buildApp(testConfig(raw), {
    logger,
    spend: {
      now: options.now,
      retryDelaysMs: [5, 10],
      alertRetryDelaysMs: options.alertRetryDelaysMs ?? [5, 10],
    },
  })
  closeAfterTest(() => app.close())
  options.setup?.(app)
  await app.ready()
  const origin = options.listen ? await app.listen({ port: 0, host: '127.0.0.1' }) : ''
  return { app, logs, rawLogs, origin }
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
  return startFakeUpstream((req, res) => answerWithUsage(req, res, usageFor(req)))
}

export function openAIUsage(usage: TokenUsage) {
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    ...(usage.cachedPrompt > 0 ? { prompt_tokens_details: { cached_tokens: usage.cachedPrompt } } : {}),
  }
}

function answerWithUsage(req: RecordedRequest, res: ServerResponse, usage: TokenUsage): void {
  const body = req.body as { model: string; stream?: boolean }
  if (req.url.endsWith('/embeddings')) {
    sendJson(res, 200, {
      object: 'list',
      model: body.model,
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      usage: { prompt_tokens: usage.prompt, total_tokens: usage.prompt },
    })
    return
  }
  if (!body.stream) {
    sendJson(res, 200, completionBody('Hello', body.model, { usage: openAIUsage(usage) }))
    return
  }
  startSse(res)
  res.write(sseData(chunkBody({ role: 'assistant', content: 'Hel' }, null, body.model)))
  res.write(sseData(chunkBody({ content: 'lo' }, 'stop', body.model)))
  res.write(sseData({ ...chunkBody({}, null, body.model), choices: [], usage: openAIUsage(usage) }))
  res.end(sseData('[DONE]'))
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
