// Shared by the limits tests: a gateway on a real socket with an injected clock and captured logs,
// a controllable OpenAI-style upstream, and the two state stores the suites run against.
import type { ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { Agent, fetch, type RequestInit, type Response } from 'undici'
import { buildApp } from '../app.js'
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
import { testRedisUrl, uniquePrefix } from './helpers/redis.js'

/** A wall clock the test moves by hand; starts exactly at a minute boundary. */
export function manualClock(start = 1_700_000_040_000) {
  let at = start
  return {
    now: () => at,
    advance(ms: number) {
      at += ms
    },
  }
}
export type ManualClock = ReturnType<typeof manualClock>

export interface Gateway {
  app: FastifyInstance
  origin: string
  logs: Record<string, unknown>[]
  rawLogs: string[]
  /** fetch on this gateway's own connection pool, destroyed before the gateway closes. */
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export async function startGateway(raw: Record<string, unknown>, clock?: ManualClock): Promise<Gateway> {
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
  const app = await buildApp(testConfig(raw), { logger, router: clock ? { now: clock.now } : {} })
  closeAfterTest(() => app.close())
  const origin = await app.listen({ port: 0, host: '127.0.0.1' })
  // A client connection left over from an aborted stream keeps app.close() waiting; closing the
  // client's pool first (cleanups run last-registered first) ends it.
  const agent = new Agent()
  closeAfterTest(() => agent.destroy())
  return {
    app,
    origin,
    logs,
    rawLogs,
    fetch: (path, init) => fetch(`${origin}${path}`, { ...init, dispatcher: agent }),
  }
}

let prefixCount = 0
const runPrefix = uniquePrefix('limits')
/** Every key the limits tests write in Redis starts with this (deleted by each file's afterAll). */
export const limitsTestPrefix = runPrefix

export const storeKinds = [
  { name: 'memory store', store: () => ({ type: 'memory' }) },
  {
    name: 'Redis store',
    store: () => ({ type: 'redis', url: testRedisUrl, key_prefix: `${runPrefix}${++prefixCount}:` }),
  },
] as const

/** The usage the upstream reports for every answer. */
export const upstreamUsage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }

export interface ControlledUpstream extends FakeUpstream {
  /** Answers wait for release() while held. */
  hold(): void
  release(): void
  /** The next answers are this status instead. */
  failWith(status: number | null): void
}

/**
 * An OpenAI-compatible upstream: JSON or SSE (first chunk at once, the rest once released when
 * held), always reporting `upstreamUsage`.
 */
export async function startControlledUpstream(): Promise<ControlledUpstream> {
  let held = false
  let failing: number | null = null
  let waiters: (() => void)[] = []
  const waitIfHeld = (res: ServerResponse) =>
    held
      ? new Promise<void>((resolve) => {
          waiters.push(resolve)
          res.once('close', resolve)
        })
      : Promise.resolve()
  const upstream = await startFakeUpstream(async (req: RecordedRequest, res) => {
    if (failing !== null) {
      sendJson(res, failing, {
        error: { message: 'upstream failure', type: 'server_error', param: null, code: null },
      })
      return
    }
    const body = req.body as { stream?: boolean }
    if (body.stream) {
      startSse(res)
      res.write(sseData(chunkBody({ role: 'assistant', content: '' })))
      await waitIfHeld(res)
      if (res.destroyed) return
      res.write(sseData(chunkBody({ content: 'Hello' })))
      res.write(sseData(chunkBody({}, 'stop')))
      res.write(sseData({ ...chunkBody({}), choices: [], usage: upstreamUsage }))
      res.end(sseData('[DONE]'))
      return
    }
    await waitIfHeld(res)
    if (res.destroyed) return
    sendJson(res, 200, completionBody('Hello', 'gpt-4o', { usage: upstreamUsage }))
  })
  return {
    ...upstream,
    hold() {
      held = true
    },
    release() {
      held = false
      const pending = waiters
      waiters = []
      for (const resolve of pending) resolve()
    },
    failWith(status) {
      failing = status
    },
  }
}

export const teamKey = 'sk-team-a-0123456789abcdefghij'

/** A config with one public model `svc` (gpt-4o on the upstream) and key `team-a` with `keyLimits`. */
export function limitsConfig(
  upstream: FakeUpstream,
  store: Record<string, unknown>,
  options: { keyLimits?: Record<string, unknown>; limits?: Record<string, unknown>; open?: boolean } = {},
): Record<string, unknown> {
  return {
    store,
    routing: { retries: 0 },
    auth: options.open ? {} : { keys: [{ name: 'team-a', key: teamKey, ...options.keyLimits }] },
    limits: options.limits ?? {},
    providers: { openai: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream-secret-xyz' } },
    models: [{ name: 'svc', targets: [{ provider: 'openai', model: 'gpt-4o' }] }],
  }
}

export const chatRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'svc',
  messages: [{ role: 'user', content: 'hello there' }],
  ...extra,
})

/** POST /v1/chat/completions over the socket; the body is read in full. */
export async function postChat(
  gateway: Pick<Gateway, 'fetch'>,
  body: Record<string, unknown>,
  headers: Record<string, string> = { authorization: `Bearer ${teamKey}` },
) {
  const res = await gateway.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
}
