// Shared by the limits tests: a gateway on a real socket with an injected clock and captured logs,
// and a controllable OpenAI-style upstream.
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { Agent, fetch, type RequestInit, type Response } from 'undici'
import { listenTestApp } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import { manualClock as clockAt, type ManualClock } from './helpers/clock.js'
import { type FakeUpstream, sendJson, startFakeUpstream } from './helpers/fake-upstream.js'
import { uniquePrefix } from './helpers/redis.js'
import { answerWithUsage } from './helpers/usage-upstream.js'

export type { ManualClock }

/** A wall clock the test moves by hand; starts exactly at a minute boundary. */
export const manualClock = (start = 1_700_000_040_000): ManualClock => clockAt(start)

export interface Gateway {
  app: FastifyInstance
  origin: string
  logs: Record<string, unknown>[]
  rawLogs: string[]
  /** fetch on this gateway's own connection pool, destroyed before the gateway closes. */
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export async function startGateway(raw: Record<string, unknown>, clock?: ManualClock): Promise<Gateway> {
  const { app, origin, logs, rawLogs } = await listenTestApp(raw, { router: clock ? { now: clock.now } : {} })
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

/** Every key the limits tests write in Redis starts with this (each file deletes its own). */
export const limitsTestPrefix = uniquePrefix('limits')

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
  const upstream = await startFakeUpstream(async (req, res) => {
    if (failing !== null) {
      sendJson(res, failing, {
        error: { message: 'upstream failure', type: 'server_error', param: null, code: null },
      })
      return
    }
    await answerWithUsage(req, res, upstreamUsage, () => waitIfHeld(res))
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
