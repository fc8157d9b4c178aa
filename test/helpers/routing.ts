// Loopback upstreams for the routing tests that can be told, request by request, to answer, fail,
// stall, reset the connection or throttle; plus an app builder that injects the router's clock and
// randomness. The fakes speak the OpenAI wire format and sit behind `openai`-type providers, so
// every failure travels the real path: undici, the adapter's error mapping, then the router.
import type { ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.js'
import { createSeededRng, type Rng } from '../../plugins/router/random.js'
import { testConfig } from './app.js'
import { closeAfterTest } from './cleanup.js'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
} from './fake-upstream.js'

/** What one upstream does with one request. */
export type Behaviour = (
  req: RecordedRequest,
  res: ServerResponse,
  upstream: ScriptedUpstream,
) => Promise<void>

export interface Arrival {
  upstream: string
  /** performance.now() when the request (body included) reached the fake. */
  at: number
  request: RecordedRequest
}

/** Arrivals across every fake of a test, in order: fallback and retry order is read from here. */
export class Timeline {
  readonly arrivals: Arrival[] = []
  readonly #waiters: { count: number; resolve: () => void }[] = []

  push(arrival: Arrival): void {
    this.arrivals.push(arrival)
    for (const waiter of this.#waiters.filter((w) => this.arrivals.length >= w.count)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }

  names(): string[] {
    return this.arrivals.map((a) => a.upstream)
  }

  /** Resolves once `count` requests arrived in total. */
  reached(count: number): Promise<void> {
    if (this.arrivals.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ count, resolve }))
  }
}

export interface ScriptedUpstream extends FakeUpstream {
  name: string
  /** Queues behaviours for the next requests, in order; after them `always` applies. */
  script(...behaviours: Behaviour[]): void
  /** The behaviour once the script is used up (initially `answer()`). */
  always(behaviour: Behaviour): void
  /** Lets every request held by `hold()` go on with `answer()`. */
  releaseHeld(): void
  /** Requests currently held. */
  held(): number
  /** For `hold()`: true once releaseHeld() is called, false if the gateway hangs up first. */
  waitForRelease(res: ServerResponse): Promise<boolean>
}

export async function startScriptedUpstream(
  name: string,
  timeline = new Timeline(),
): Promise<ScriptedUpstream> {
  const queue: Behaviour[] = []
  let fallback: Behaviour = answer()
  const heldRequests = new Set<() => void>()
  let self!: ScriptedUpstream
  const fake = await startFakeUpstream(async (req, res) => {
    timeline.push({ upstream: name, at: performance.now(), request: req })
    const behaviour = queue.shift() ?? fallback
    await behaviour(req, res, self)
  })
  self = {
    ...fake,
    name,
    script: (...behaviours) => queue.push(...behaviours),
    always: (behaviour) => {
      fallback = behaviour
    },
    releaseHeld: () => {
      for (const release of [...heldRequests]) release()
    },
    held: () => heldRequests.size,
    waitForRelease: async (res) => {
      let release!: () => void
      const released = new Promise<boolean>((resolve) => {
        release = () => resolve(true)
        res.once('close', () => resolve(false))
      })
      heldRequests.add(release)
      const go = await released
      heldRequests.delete(release)
      return go
    },
  }
  return self
}

const wantsStream = (req: RecordedRequest) => (req.body as { stream?: unknown } | undefined)?.stream === true

/** A normal answer, JSON or SSE as the request asked, naming the upstream so tests see who served. */
export function answer(delayMs = 0): Behaviour {
  return async (req, res, upstream) => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    if (res.destroyed) return
    if (wantsStream(req)) await streamAnswer(res, [`from ${upstream.name}`])
    else sendJson(res, 200, completionBody(`from ${upstream.name}`))
  }
}

/** An OpenAI-style error answer. */
export function fail(
  status: number,
  error: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const body = {
    error: { message: `failure ${status}`, type: 'server_error', param: null, code: null, ...error },
  }
  return (async (_req, res) => sendJson(res, status, body, headers)) satisfies Behaviour
}

/** 429 with Retry-After, as OpenAI throttles. */
export const throttle = (retryAfter: string): Behaviour =>
  fail(
    429,
    { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
    {
      'retry-after': retryAfter,
    },
  )

/** Drops the TCP connection without a response: undici sees a socket error. */
export const reset = (): Behaviour => async (_req, res) => {
  res.socket?.destroy()
}

/** Never answers; the gateway has to give up (timeout) or hang up (client abort). */
export const stall = (): Behaviour => async (_req, res) => {
  await new Promise<void>((resolve) => res.once('close', resolve))
}

/** Waits until releaseHeld() (then answers normally) or until the gateway hangs up. */
export const hold = (): Behaviour => async (req, res, upstream) => {
  if (await upstream.waitForRelease(res)) await answer()(req, res, upstream)
}

/**
 * Streams `sent` content chunks, then ends as `then` says: 'reset' drops the connection mid-stream,
 * 'stall' keeps it open and silent until the gateway hangs up.
 */
export const streamThen =
  (sent: number, then: 'reset' | 'stall'): Behaviour =>
  async (_req, res, upstream) => {
    startSse(res)
    res.write(sseData(chunkBody({ role: 'assistant', content: '' })))
    for (let i = 0; i < sent; i++) res.write(sseData(chunkBody({ content: `${upstream.name} piece ${i} ` })))
    if (then === 'reset') {
      // Let the chunks leave before the socket goes, as a real upstream dying mid-answer.
      await new Promise((resolve) => setTimeout(resolve, 20))
      res.socket?.destroy()
      return
    }
    await new Promise<void>((resolve) => res.once('close', resolve))
  }

/** Starts fakes sharing one timeline, keyed by name. */
export async function startUpstreams<N extends string>(
  ...names: N[]
): Promise<{ timeline: Timeline; up: Record<N, ScriptedUpstream> }> {
  const timeline = new Timeline()
  const up = {} as Record<N, ScriptedUpstream>
  for (const name of names) up[name] = await startScriptedUpstream(name, timeline)
  return { timeline, up }
}

/** An `openai` provider entry pointing at a fake. */
export function openaiProvider(upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return { type: 'openai', base_url: upstream.url, api_key: 'sk-routing-test-0000', ...extra }
}

/** A provider per fake, named like the fake. */
export function providersFor(
  upstreams: Record<string, ScriptedUpstream>,
  extra: Record<string, unknown> = {},
) {
  return Object.fromEntries(Object.entries(upstreams).map(([name, up]) => [name, openaiProvider(up, extra)]))
}

/** A clock the test moves by hand: breakers and latency staleness read it, real timers do not. */
export function manualClock(start = Date.now()) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

export interface RouterInjection {
  now?: () => number
  rng?: Rng
}

/** buildTestApp with the router's clock and randomness injected (seeded by default), no logging. */
export async function buildRoutingApp(
  raw: Record<string, unknown>,
  router: RouterInjection = {},
): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(raw), {
    logger: false,
    router: { rng: router.rng ?? createSeededRng(20240611), ...(router.now ? { now: router.now } : {}) },
  })
  closeAfterTest(() => app.close())
  await app.ready()
  return app
}

export function chat(app: FastifyInstance, model: string, extra: Record<string, unknown> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { model, messages: [{ role: 'user', content: 'hello' }], ...extra },
  })
}

export interface TargetHealth {
  provider: string
  model: string
  state: 'closed' | 'open' | 'half_open'
  in_flight: number
  latency_ms_ewma: number | null
  last_error: { status: number | null; code: string | null; message: string } | null
}

/** GET /health/providers, keyed by `provider/model`. */
export async function targetHealth(app: FastifyInstance): Promise<Record<string, TargetHealth>> {
  const res = await app.inject({ method: 'GET', url: '/health/providers' })
  if (res.statusCode !== 200) throw new Error(`/health/providers answered ${res.statusCode}: ${res.body}`)
  const { targets } = res.json() as { targets: TargetHealth[] }
  return Object.fromEntries(targets.map((t) => [`${t.provider}/${t.model}`, t]))
}

/** The assistant text of a chat.completion, which answer() sets to "from <upstream>". */
export const contentOf = (body: string) =>
  (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
