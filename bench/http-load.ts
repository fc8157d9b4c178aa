// Non-stream load with autocannon: a fixed request rate for latency, and a closed loop of
// connections for throughput. Latencies come from autocannon's per-response event, in float ms.
import autocannon from 'autocannon'
import { chatPath, chatRequestBody, jsonHeaders } from './chat-payloads.js'

export interface HttpLoadResult {
  latenciesMs: number[]
  ok: number
  /** Non-2xx responses plus connection errors and timeouts. */
  failed: number
  seconds: number
  requestsPerSecond: number
}

function runAutocannon(options: autocannon.Options): Promise<HttpLoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = []
    const instance = autocannon(options, (err, result) => {
      if (err) return reject(err)
      resolve({
        latenciesMs,
        ok: result['2xx'],
        failed: result.non2xx + result.errors,
        seconds: result.duration,
        requestsPerSecond: result['2xx'] / result.duration,
      })
    })
    // A connection's first response also paid for the TCP connect, which no gateway can change.
    const connected = new WeakSet<object>()
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      if (!connected.has(client)) {
        connected.add(client)
        return
      }
      if (statusCode >= 200 && statusCode < 300) latenciesMs.push(responseTime)
    })
  })
}

const chatRequest = (origin: string) => ({
  url: origin + chatPath,
  method: 'POST' as const,
  headers: jsonHeaders,
  body: chatRequestBody,
})

/**
 * autocannon's rate limit releases each connection's per-second quota at the top of every second,
 * so this is `connections`-wide bursts adding up to `rate` per second, not evenly spaced arrivals.
 */
export function fixedRate(origin: string, rate: number, connections: number, seconds: number) {
  return runAutocannon({ ...chatRequest(origin), overallRate: rate, connections, duration: seconds })
}

export function maxThroughput(origin: string, connections: number, seconds: number) {
  return runAutocannon({ ...chatRequest(origin), connections, duration: seconds })
}
