// The issue #8 additions to the bench harness: the list of fixed rates, the wide variants of the
// idle-streams scenario, the full-stack target, Portkey found (or not) at run time and its columns,
// and the fake upstream's idle stream. Pure parts directly; the fake upstream over real HTTP.
import { Client } from 'undici'
import { describe, expect, it } from 'vitest'
import { benchConfig } from '../bench/anygate-target.js'
import { chatPath, idleStreamRequestBody, jsonHeaders } from '../bench/chat-payloads.js'
import { startFakeUpstream } from '../bench/fake-upstream.js'
import { warmedUp, warmUpByRequests } from '../bench/http-load.js'
import { findPortkey, portkeyRequest } from '../bench/portkey.js'
import { markdownTable, type ReportRow } from '../bench/report.js'
import { throughputWarmUp } from '../bench/scenarios.js'
import { targetsFor } from '../bench/selection.js'
import { readSettings } from '../bench/settings.js'
import { closeAfterTest } from './helpers/cleanup.js'

const upstreamOrigin = 'http://127.0.0.1:9'

describe('bench settings', () => {
  it('measures 200, 500 and 1,000 req/s unless BENCH_RATES says otherwise', () => {
    expect(readSettings({}).fixedRates).toEqual([200, 500, 1000])
    expect(readSettings({ BENCH_RATES: '300, 900' }).fixedRates).toEqual([300, 900])
    expect(() => readSettings({ BENCH_RATES: '300,fast' })).toThrow(
      'BENCH_RATES must be positive whole req/s',
    )
    expect(readSettings({ BENCH_IDLE_STREAMS: '50' }).idleStreams).toBe(50)
    // Streams: one at a time (what the gateway adds) and 8 at once (queueing) unless told otherwise.
    expect(readSettings({}).streamConcurrencies).toEqual([1, 8])
    expect(readSettings({ BENCH_STREAM_CONCURRENCY: '4' }).streamConcurrencies).toEqual([4])
    expect(() => readSettings({ BENCH_STREAM_CONCURRENCY: '0' })).toThrow(/BENCH_STREAM_CONCURRENCY/)
  })
})

describe('throughput warm-up', () => {
  it('runs until 60,000 requests were served unless BENCH_WARMUP_REQUESTS says otherwise', () => {
    const plan = throughputWarmUp(readSettings({}))
    expect(plan).toEqual({ requests: 60_000, minSeconds: 1, maxSeconds: 15 })
    expect(throughputWarmUp(readSettings({ BENCH_WARMUP_REQUESTS: '0' })).requests).toBe(0)
    expect(() => readSettings({ BENCH_WARMUP_REQUESTS: 'lots' })).toThrow(/BENCH_WARMUP_REQUESTS/)
  })

  it('is over once enough requests were served, never before its minimum, always at its maximum', () => {
    const plan = { requests: 1000, minSeconds: 1, maxSeconds: 10 }
    expect(warmedUp(plan, 5000, 0.5)).toBe(false)
    expect(warmedUp(plan, 999, 3)).toBe(false)
    expect(warmedUp(plan, 1000, 1)).toBe(true)
    expect(warmedUp(plan, 10, 10)).toBe(true)
    expect(warmedUp({ ...plan, requests: 0 }, 0, 1)).toBe(true)
  })

  it('loads a real server in one-second slices until the plan is met', async () => {
    const upstream = await startFakeUpstream({ chunks: 2, chunkDelayMs: 0 })
    closeAfterTest(() => upstream.close())
    const done = await warmUpByRequests(upstream.origin, 4, { requests: 200, minSeconds: 0, maxSeconds: 5 })
    expect(done.served).toBeGreaterThanOrEqual(200)
    expect(done.seconds).toBeGreaterThanOrEqual(0.9)
    expect(done.seconds).toBeLessThan(5)
  })
})

describe('issue #8 targets', () => {
  it('idle and stack start only their own targets; peers join only when asked for', () => {
    expect(targetsFor(['idle'])).toEqual(['direct', 'floor-wide', 'anygate-wide'])
    expect(targetsFor(['stack'])).toEqual(['direct', 'floor', 'anygate', 'anygate-stack-redis-3'])
    expect(targetsFor(['throughput'], true)).toEqual(['direct', 'floor', 'anygate', 'portkey'])
    expect(targetsFor(['cache'], true)).toEqual(['direct', 'anygate-cache'])
  })

  it('the wide variant is the default config with 1,024 upstream sockets', () => {
    const wide = benchConfig({ upstreamOrigin, upstreamConnections: 1024 })
    const standard = benchConfig({ upstreamOrigin })
    expect(wide.providers[0]?.max_connections).toBe(1024)
    expect(standard.providers[0]?.max_connections).toBe(256)
    expect({ ...wide, providers: standard.providers }).toEqual(standard)
  })

  it('the full-stack target routes its model over 3 providers, on Redis, with auth and limits', () => {
    const secrets = { masterKey: 'bench-master-0123456789abcdef', clientKey: 'bench-client-0123456789abcdef' }
    const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'anygate-bench:1:2:' }
    const config = benchConfig({ upstreamOrigin, variant: 'stack-redis', targets: 3, redis }, secrets)
    expect(config.providers.map((p) => p.name)).toEqual(['bench-1', 'bench-2', 'bench-3'])
    expect(config.store.type).toBe('redis')
    expect(config.auth.keys).toHaveLength(1)
    expect(config.metrics.enabled).toBe(true)
  })
})

describe('Portkey as a peer', () => {
  it('is looked for at run time and reported missing when not installed', () => {
    // Not a dependency of this repository: nothing to find from here.
    expect(findPortkey()).toBeUndefined()
  })

  it('reaches the fake upstream through its custom-host header', () => {
    expect(portkeyRequest('http://127.0.0.1:4000').headers).toMatchObject({
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': 'http://127.0.0.1:4000/v1',
    })
  })

  it('gets columns of its own only when measured', () => {
    const row = (portkey?: number): ReportRow => ({
      scenario: 'b',
      metric: 'throughput',
      unit: 'req/s',
      values: { direct: 400, floor: 200, anygate: 100, ...(portkey === undefined ? {} : { portkey }) },
    })
    expect(markdownTable([row()])).not.toContain('portkey')
    const table = markdownTable([row(50)])
    expect(table.split('\n')[0]).toContain('| portkey |')
    expect(table).toContain('| 0.25× | 2.00× |')
  })
})

describe('fake upstream idle stream', () => {
  it('sends the first chunk, then holds the stream open', async () => {
    const upstream = await startFakeUpstream({ chunks: 5, chunkDelayMs: 0 })
    closeAfterTest(() => upstream.close())
    const client = new Client(upstream.origin)
    closeAfterTest(() => client.destroy())
    const { statusCode, body } = await client.request({
      method: 'POST',
      path: chatPath,
      headers: jsonHeaders,
      body: idleStreamRequestBody,
    })
    expect(statusCode).toBe(200)
    const first = await new Promise<string>((resolve) =>
      body.once('data', (part: Buffer) => resolve(String(part))),
    )
    expect(first).toMatch(/^data: \{.*"role":"assistant"/)
    // Nothing more comes, and the stream has not ended.
    const more = await Promise.race([
      new Promise<string>((resolve) => body.once('data', () => resolve('data'))),
      new Promise<string>((resolve) => body.once('end', () => resolve('end'))),
      new Promise<string>((resolve) => setTimeout(() => resolve('idle'), 150)),
    ])
    expect(more).toBe('idle')
    body.destroy()
  })
})
