// The upstream client's aborts and its body reader (upstream-body.ts), against real HTTP servers:
// the total timeout, the client's abort, a body cut short, the size limit, and the text kept for a
// pass-through answer.
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import { rawJsonOf } from '../providers/shared/raw-json.js'
import { readText, UpstreamClient } from '../providers/shared/upstream-client.js'
import { startFakeUpstream } from './helpers/fake-upstream.js'

function clientFor(url: string, totalMs = 60_000) {
  return new UpstreamClient({
    provider: 'up',
    baseUrl: url,
    timeouts: { connect_ms: 5_000, first_byte_ms: 60_000, total_ms: totalMs },
    maxConnections: 4,
    headers: {},
  })
}

const refuse = (refusal: { status: number }) => new Error(`refused ${refusal.status}`)

/** A client (total_ms `totalMs`) of an upstream that takes calls and never answers; closed after `use`. */
async function withStalledUpstream(
  totalMs: number,
  use: (client: UpstreamClient, upstream: Awaited<ReturnType<typeof startFakeUpstream>>) => Promise<void>,
): Promise<void> {
  const upstream = await startFakeUpstream(async () => {
    await sleep(5_000)
  })
  const client = clientFor(upstream.url, totalMs)
  try {
    await use(client, upstream)
  } finally {
    await client.close()
  }
}

describe('UpstreamClient aborts', () => {
  it('fails a call the upstream never answers with the total timeout', async () => {
    const upstream = await startFakeUpstream(async () => {
      await sleep(5_000)
    })
    const client = clientFor(upstream.url, 150)
    try {
      const call = client.post('/chat', '{}', new AbortController().signal, 'application/json', refuse)
      await expect(call).rejects.toMatchObject({ statusCode: 504, code: 'upstream_timeout' })
      await expect(call).rejects.toBeInstanceOf(GatewayError)
    } finally {
      await client.close()
    }
  })

  it("stops the call when the client's signal aborts, and says the client left", async () => {
    const upstream = await startFakeUpstream(async () => {
      await sleep(5_000)
    })
    const client = clientFor(upstream.url)
    const controller = new AbortController()
    try {
      const call = client.post('/chat', '{}', controller.signal, 'application/json', refuse)
      await sleep(50)
      controller.abort()
      await expect(call).rejects.toBeInstanceOf(ClientAbortError)
      await expect.poll(() => upstream.requests[0]?.aborted).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('times out a body that stalls after the headers', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"choices":')
      await sleep(5_000)
    })
    const client = clientFor(upstream.url, 200)
    try {
      const read = client.postJson('/chat', '{}', refuse, { signal: new AbortController().signal })
      await expect(read).rejects.toMatchObject({ code: 'upstream_timeout' })
    } finally {
      await client.close()
    }
  })
})

describe('reading bodies', () => {
  it('maps a body the upstream cuts short to an unreachable upstream', async () => {
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"choices":')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const client = clientFor(upstream.url)
    try {
      const read = client.postJson('/chat', '{}', refuse, { signal: new AbortController().signal })
      await expect(read).rejects.toMatchObject({
        statusCode: 502,
        code: 'upstream_unreachable',
      })
    } finally {
      await client.close()
    }
  })

  it('keeps at most the limit, and the text of a pass-through answer', async () => {
    const text = JSON.stringify({ choices: [], note: 'x'.repeat(300) })
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(text.slice(0, 100))
      setTimeout(() => res.end(text.slice(100)), 10)
    })
    const client = clientFor(upstream.url)
    try {
      const signal = new AbortController().signal
      const limited = await client.post('/chat', '{}', signal, 'application/json', refuse)
      expect(await readText(limited.response.body, 120)).toBe(text.slice(0, 120))

      const kept = await client.postJson<object, { signal: AbortSignal }>(
        '/chat',
        '{}',
        refuse,
        { signal },
        undefined,
        true,
      )
      expect(rawJsonOf(kept)).toBe(text)
      const parsedOnly = await client.postJson<object, { signal: AbortSignal }>('/chat', '{}', refuse, {
        signal,
      })
      expect(rawJsonOf(parsedOnly)).toBeUndefined()
      expect(parsedOnly).toEqual(JSON.parse(text))
    } finally {
      await client.close()
    }
  })
})

describe('postJson (post and read whole, the non-stream path)', () => {
  interface TestContext {
    signal: AbortSignal
    limitMs?: number
    tag?: string
  }
  const context = (signal: AbortSignal, limitMs?: number): TestContext => ({ signal, limitMs })
  const refuseWith = (refusal: { status: number; body: string }, ctx: TestContext) =>
    new Error(`refused ${refusal.status} ${refusal.body} ${ctx.tag ?? ''}`)

  it('parses the answer, keeps its text on request, and hands a refusal to the mapper with its context', async () => {
    const text = JSON.stringify({ choices: [{ index: 0 }] })
    const upstream = await startFakeUpstream((req, res) => {
      if (req.url?.endsWith('/refuse')) {
        res.writeHead(429, { 'content-type': 'application/json' })
        res.end('{"error":"slow down"}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(text)
    })
    const client = clientFor(upstream.url)
    try {
      const signal = new AbortController().signal
      const kept = await client.postJson<object, TestContext>(
        '/chat',
        '{}',
        refuseWith,
        context(signal),
        undefined,
        true,
      )
      expect(JSON.stringify(kept)).toBe(text)
      expect(rawJsonOf(kept)).toBe(text)
      await expect(
        client.postJson('/refuse', '{}', refuseWith, { ...context(signal), tag: 'ctx-1' }),
      ).rejects.toThrow('refused 429 {"error":"slow down"} ctx-1')
    } finally {
      await client.close()
    }
  })

  it('refuses an answer that is not JSON, and one of the wrong content type', async () => {
    const upstream = await startFakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': req.url?.endsWith('/html') ? 'text/html' : 'application/json' })
      res.end(req.url?.endsWith('/html') ? '<html>oops</html>' : '{"choices": [')
    })
    const client = clientFor(upstream.url)
    try {
      const signal = new AbortController().signal
      await expect(client.postJson('/chat', '{}', refuseWith, context(signal))).rejects.toMatchObject({
        statusCode: 502,
        message: expect.stringContaining('not valid JSON'),
      })
      await expect(client.postJson('/html', '{}', refuseWith, context(signal))).rejects.toMatchObject({
        statusCode: 502,
        message: expect.stringContaining('got "text/html"'),
      })
    } finally {
      await client.close()
    }
  })

  it('keeps its own total timeout when the caller has no shorter deadline', async () => {
    await withStalledUpstream(150, async (client) => {
      const signal = new AbortController().signal
      // No limit, and a limit longer than total_ms: total_ms is what ends the call.
      for (const limitMs of [undefined, 10_000]) {
        const started = performance.now()
        await expect(
          client.postJson('/chat', '{}', refuseWith, context(signal, limitMs)),
        ).rejects.toMatchObject({ statusCode: 504, code: 'upstream_timeout' })
        expect(performance.now() - started).toBeLessThan(2_000)
      }
    })
  })

  it("leaves a call whose deadline comes first to the caller's signal, and aborts it upstream", async () => {
    // total_ms 200 would fail the call after 200 ms; the caller's deadline (limitMs 100, enforced by
    // its signal) comes first, so the client sets no timer and the signal is what ends the call.
    await withStalledUpstream(200, async (client, upstream) => {
      const controller = new AbortController()
      const call = client.postJson('/chat', '{}', refuseWith, context(controller.signal, 100))
      setTimeout(() => controller.abort(), 400)
      const started = performance.now()
      await expect(call).rejects.toBeInstanceOf(ClientAbortError)
      expect(performance.now() - started).toBeGreaterThanOrEqual(300)
      await expect.poll(() => upstream.requests[0]?.aborted).toBe(true)
    })
  })
})
