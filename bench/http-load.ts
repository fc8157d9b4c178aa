// Non-stream load: a fixed request rate for latency (paced-load.ts), and a closed loop of
// connections for throughput with autocannon. Latencies come from autocannon's per-response event, in float ms.
import autocannon from 'autocannon'
import { chatPath, chatRequestBody, jsonHeaders } from './chat-payloads.js'
import { pacedLoad } from './paced-load.js'

export interface HttpLoadResult {
  latenciesMs: number[]
  ok: number
  /** Non-2xx responses, responses the check refused, connection errors and timeouts. */
  failed: number
  /** The first refused response's reason, so a broken target is explained rather than just counted. */
  firstFailure?: string
  seconds: number
  requestsPerSecond: number
}

export type ResponseHeaders = Record<string, string | string[] | undefined>

/** What a target is sent; every field defaults to the plain chat request. */
export interface LoadRequest {
  /** Sent beside content-type, e.g. the virtual key the target expects. */
  headers?: Record<string, string>
  body?: string
  /**
   * Names what is wrong with a 2xx response's headers, if anything: such a response counts as
   * failed and its latency is dropped (e.g. a cache MISS in a cache-hit run).
   */
  check?: (headers: ResponseHeaders) => string | undefined
}

type Load = Pick<autocannon.Options, 'connections' | 'duration'>

function runAutocannon(origin: string, request: LoadRequest, load: Load): Promise<HttpLoadResult> {
  const { check } = request
  const latenciesMs: number[] = []
  // 2xx responses the check refused (autocannon counts them as 2xx), and the first reason given.
  let refused = 0
  let firstFailure: string | undefined
  // autocannon calls a request's onResponse, which gets the headers its 'response' event lacks, just
  // before that event for the same response (after the response time was taken): one flag links them.
  let lastRefused = false
  const onResponse = (status: number, body: string, _context: unknown, headers: unknown) => {
    const success = status >= 200 && status < 300
    const problem = success ? check?.(headers as ResponseHeaders) : `status ${status}: ${body.slice(0, 200)}`
    lastRefused = success && problem !== undefined
    if (lastRefused) refused++
    if (problem !== undefined) firstFailure ??= problem
  }
  const options: autocannon.Options = {
    ...load,
    url: origin,
    requests: [
      {
        method: 'POST',
        path: chatPath,
        headers: { ...jsonHeaders, ...request.headers },
        body: request.body ?? chatRequestBody,
        // Only when asked: autocannon then turns every response's raw headers into an object.
        ...(check ? { onResponse } : {}),
      },
    ],
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err, result) => {
      if (err) return reject(err)
      const ok = result['2xx'] - refused
      resolve({
        latenciesMs,
        ok,
        failed: result.non2xx + result.errors + refused,
        firstFailure,
        seconds: result.duration,
        requestsPerSecond: ok / result.duration,
      })
    })
    // A connection's first response also paid for the TCP connect, which no gateway can change.
    const connected = new WeakSet<object>()
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      const wasRefused = lastRefused
      lastRefused = false
      if (!connected.has(client)) {
        connected.add(client)
        return
      }
      if (statusCode >= 200 && statusCode < 300 && !wasRefused) latenciesMs.push(responseTime)
    })
  })
}

/** Evenly paced arrivals at `rate` over `connections` keep-alive sockets (bench/paced-load.ts). */
export function fixedRate(
  origin: string,
  rate: number,
  connections: number,
  seconds: number,
  request: LoadRequest = {},
) {
  return pacedLoad(origin, { rate, seconds, connections }, request)
}

export function maxThroughput(
  origin: string,
  connections: number,
  seconds: number,
  request: LoadRequest = {},
) {
  return runAutocannon(origin, request, { connections, duration: seconds })
}

export interface WarmUpPlan {
  /** Served requests after which the target counts as warm. */
  requests: number
  /** At least this long, however fast the target serves (sockets, pools). */
  minSeconds: number
  /** At most this long: a slow peer is not warmed for minutes. */
  maxSeconds: number
}

/** Pure: whether a warm-up that served `served` requests in `seconds` is over. */
export function warmedUp(plan: WarmUpPlan, served: number, seconds: number): boolean {
  if (seconds < plan.minSeconds) return false
  return served >= plan.requests || seconds >= plan.maxSeconds
}

/**
 * Closed-loop load in one-second slices until the plan says the target is warm: a warm-up counted
 * in requests, since V8 optimizes by how often code runs, not for how long. Returns what it took.
 */
export async function warmUpByRequests(
  origin: string,
  connections: number,
  plan: WarmUpPlan,
  request: LoadRequest = {},
): Promise<{ served: number; seconds: number }> {
  let served = 0
  let seconds = 0
  while (!warmedUp(plan, served, seconds)) {
    const slice = await maxThroughput(origin, connections, 1, request)
    served += slice.ok + slice.failed
    seconds += slice.seconds
  }
  return { served, seconds }
}
