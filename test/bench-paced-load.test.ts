// The bench's fixed-rate load (evenly paced, open loop) against a real server that notes when each
// request arrives, and the CPU pinning plan.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { describePlan, pinPlan } from '../bench/cpu-pinning.js'
import { pacedLoad } from '../bench/paced-load.js'
import { closeAfterTest } from './helpers/cleanup.js'

async function recordingServer(answer: (count: number) => number) {
  const arrivals: number[] = []
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      arrivals.push(performance.now())
      const status = answer(arrivals.length)
      response.writeHead(status, { 'content-type': 'application/json', 'x-seen': String(arrivals.length) })
      response.end(status === 200 ? '{"ok":true}' : '{"error":{"message":"no"}}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closeAfterTest(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, arrivals }
}

describe('paced load', () => {
  it('spreads the requests evenly over the run instead of sending each second in a burst', async () => {
    const server = await recordingServer(() => 200)
    const result = await pacedLoad(server.origin, { rate: 100, seconds: 1, connections: 4 })
    expect(result.ok).toBe(100)
    expect(result.failed).toBe(0)
    expect(result.latenciesMs).toHaveLength(100)
    // The 4 connection-opening requests come first and are not measured.
    const measured = server.arrivals.slice(4)
    expect(measured).toHaveLength(100)
    const span = measured.at(-1)! - measured[0]!
    expect(span).toBeGreaterThan(900)
    // Evenly paced: in no 100 ms window more than a few over the 10 the rate allows.
    const mostInAWindow = Math.max(
      ...measured.map((t) => measured.filter((u) => u >= t && u < t + 100).length),
    )
    expect(mostInAWindow).toBeLessThanOrEqual(14)
    expect(result.requestsPerSecond).toBeGreaterThan(90)
  })

  it('counts refused answers and failed checks as failures, with the first reason', async () => {
    const server = await recordingServer((count) => (count % 5 === 0 ? 503 : 200))
    const result = await pacedLoad(
      server.origin,
      { rate: 200, seconds: 0.25, connections: 2 },
      { check: (headers) => (headers['x-seen'] === '7' ? 'header check refused' : undefined) },
    )
    expect(result.ok + result.failed).toBe(50)
    expect(result.failed).toBeGreaterThanOrEqual(10)
    expect(result.firstFailure).toMatch(/^status 503: \{"error"|^header check refused$/)
    expect(result.latenciesMs).toHaveLength(result.ok)
  })
})

describe('CPU pinning plan', () => {
  it('puts the servers under test on the last core and the load on the others, on Linux only', () => {
    expect(pinPlan(2, 'linux', {})).toEqual({ servers: '1', load: '0' })
    expect(pinPlan(8, 'linux', {})).toEqual({ servers: '7', load: '0-6' })
    expect(pinPlan(1, 'linux', {})).toBeUndefined()
    expect(pinPlan(4, 'darwin', {})).toBeUndefined()
    expect(pinPlan(4, 'linux', { BENCH_PIN: '0' })).toBeUndefined()
    expect(describePlan({ servers: '1', load: '0' }, true)).toContain('pinned to CPU 1')
    expect(describePlan({ servers: '1', load: '0' }, false)).toContain('taskset failed')
  })
})
