// Open-loop load at a fixed rate: request i leaves at start + i / rate whatever the earlier ones are
// doing, as wrk2 does. Written here because autocannon's rate option is not this: it hands every
// connection its per-second quota at the top of each second, so "1,000 req/s" over 2 connections was
// two closed loops running flat out for the first part of every second, then idle, and its p99
// measured that burst's queueing. Latency is taken from the moment a request is handed to the pool
// (waiting for a free connection included) to its body's last byte.
import { Pool } from 'undici'
import { chatPath, chatRequestBody, jsonHeaders } from './chat-payloads.js'
import type { HttpLoadResult, LoadRequest, ResponseHeaders } from './http-load.js'

export interface PacedLoad {
  rate: number
  seconds: number
  /** Keep-alive connections the requests share; each is opened before the clock starts. */
  connections: number
}

interface Tally {
  latenciesMs: number[]
  ok: number
  failed: number
  firstFailure?: string
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function send(pool: Pool, request: LoadRequest, tally: Tally | undefined): Promise<void> {
  const startedAt = performance.now()
  try {
    const response = await pool.request({
      method: 'POST',
      path: chatPath,
      headers: { ...jsonHeaders, ...request.headers },
      body: request.body ?? chatRequestBody,
    })
    const body = await response.body.text()
    const elapsed = performance.now() - startedAt
    if (!tally) return
    const success = response.statusCode >= 200 && response.statusCode < 300
    const problem = success
      ? request.check?.(response.headers as ResponseHeaders)
      : `status ${response.statusCode}: ${body.slice(0, 200)}`
    if (problem === undefined) {
      tally.ok++
      tally.latenciesMs.push(elapsed)
      return
    }
    tally.failed++
    tally.firstFailure ??= problem
  } catch (err) {
    if (!tally) return
    tally.failed++
    tally.firstFailure ??= (err as Error).message
  }
}

export async function pacedLoad(
  origin: string,
  load: PacedLoad,
  request: LoadRequest = {},
): Promise<HttpLoadResult> {
  const pool = new Pool(origin, { connections: load.connections, keepAliveTimeout: 30_000 })
  try {
    // One request per connection first, unmeasured: a TCP connect is not the server's doing.
    await Promise.all(Array.from({ length: load.connections }, () => send(pool, request, undefined)))
    const tally: Tally = { latenciesMs: [], ok: 0, failed: 0 }
    const total = Math.round(load.rate * load.seconds)
    const intervalMs = 1000 / load.rate
    const inFlight: Promise<void>[] = []
    const start = performance.now()
    let sent = 0
    while (sent < total) {
      // Every request whose time has come leaves now: a late timer is caught up, not skipped.
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1)
      for (; sent < due; sent++) inFlight.push(send(pool, request, tally))
      if (sent < total) await sleep(Math.max(0, start + sent * intervalMs - performance.now()))
    }
    await Promise.all(inFlight)
    const seconds = (performance.now() - start) / 1000
    return { ...tally, seconds, requestsPerSecond: tally.ok / seconds }
  } finally {
    await pool.close()
  }
}
