// The upstream client's dispatch handler (providers/shared/upstream-body.ts) against real HTTP
// servers: backpressure on a slow stream reader, connections kept after a finished read or a
// drained stream, and the upstream socket closed when a call is given up mid-body.
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ClientAbortError } from '../plugins/gateway-error.js'
import type { Batch } from '../providers/shared/batch.js'
import type { SseTranslator } from '../providers/shared/sse-reader.js'
import { readText, translateSse, UpstreamClient } from '../providers/shared/upstream-client.js'
import { sendJson, sseData, startFakeUpstream, startSse } from './helpers/fake-upstream.js'

function clientFor(url: string, maxConnections = 4) {
  return new UpstreamClient({
    provider: 'up',
    baseUrl: url,
    timeouts: { connect_ms: 5_000, first_byte_ms: 60_000, total_ms: 60_000 },
    maxConnections,
    headers: {},
  })
}

const refuse = (refusal: { status: number }) => new Error(`refused ${refusal.status}`)
const signal = () => new AbortController().signal
/** A JSON call's context: its signal, no deadline of the router's. */
const jsonCall = (callSignal: AbortSignal = signal()) => ({ signal: callSignal })

/** Each event's data up to [DONE], where a provider's translation stops reading. */
const untilDone: SseTranslator<string> = {
  read(events, out) {
    for (const event of events) {
      if (event.data === '[DONE]') return true
      out.items.push(event.data)
    }
    return false
  },
  end() {},
}

/** The items of every batch. */
async function collect<T>(batches: AsyncIterable<Batch<T>>): Promise<T[]> {
  const all: T[] = []
  for await (const batch of batches) all.push(...batch.items)
  return all
}

describe('upstream dispatch: backpressure', () => {
  it('pauses the upstream while the stream reader waits, and resumes when it pulls', async () => {
    const events = 4_000
    const line = sseData({ text: 'x'.repeat(1_000) })
    let written = 0
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      for (; written < events; written++) {
        if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve))
      }
      res.end(sseData('[DONE]'))
    })
    const client = clientFor(upstream.url)
    try {
      const call = await client.post('/chat', '{}', signal(), 'text/event-stream', refuse)
      const stream = translateSse(call, untilDone)
      const first = await stream.next()
      expect(first.done).toBe(false)
      await sleep(300)
      // 4 MB unread: without the pause undici would have taken it all off the socket by now.
      expect(written).toBeLessThan(events)
      const rest = await collect(stream)
      expect(rest).toHaveLength(events - 1)
      expect(written).toBe(events)
    } finally {
      await client.close()
    }
  })
})

describe('upstream dispatch: connection reuse', () => {
  it('keeps the connection after a JSON answer read to its end', async () => {
    const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, { ok: true }))
    const client = clientFor(upstream.url)
    try {
      for (let i = 0; i < 3; i++) {
        expect(await client.postJson('/chat', '{}', refuse, jsonCall())).toEqual({ ok: true })
        // undici hands a finished connection back a turn of the event loop later.
        await sleep(10)
      }
      const ports = new Set(upstream.requests.map((r) => r.remotePort))
      expect(ports.size).toBe(1)
    } finally {
      await client.close()
    }
  })

  it('drains a stream finished at [DONE] and reuses its connection', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      res.write(sseData({ n: 1 }))
      res.write(sseData('[DONE]'))
      // Bytes after the end marker: the gateway stops parsing there and must still read them.
      await sleep(30)
      res.end(': trailing comment\n\n')
    })
    const client = clientFor(upstream.url)
    try {
      for (let i = 0; i < 2; i++) {
        const call = await client.post('/chat', '{}', signal(), 'text/event-stream', refuse)
        expect(await collect(translateSse(call, untilDone))).toEqual(['{"n":1}'])
        await upstream.requests[i]?.ended
        // undici hands a finished connection back a turn of the event loop later.
        await sleep(20)
      }
      expect(upstream.requests.map((r) => r.aborted)).toEqual([false, false])
      expect(upstream.requests[0]?.remotePort).toBe(upstream.requests[1]?.remotePort)
    } finally {
      await client.close()
    }
  })

  it('gives the connection up when more than 128 KiB follow the end marker, as undici dump() does', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      res.write(sseData('[DONE]'))
      await sleep(30)
      for (let i = 0; i < 300 && !res.destroyed; i++) res.write(`: ${'y'.repeat(1_000)}\n\n`)
      await sleep(50)
      res.end()
    })
    const client = clientFor(upstream.url)
    try {
      const call = await client.post('/chat', '{}', signal(), 'text/event-stream', refuse)
      expect(await collect(translateSse(call, untilDone))).toEqual([])
      await upstream.requests[0]?.ended
      expect(upstream.requests[0]?.aborted).toBe(true)
    } finally {
      await client.close()
    }
  })
})

describe('upstream dispatch: giving a call up', () => {
  it("closes the upstream socket when the client's signal aborts mid-body", async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"choices":')
      await sleep(5_000)
    })
    const client = clientFor(upstream.url)
    const controller = new AbortController()
    try {
      const read = client.postJson('/chat', '{}', refuse, jsonCall(controller.signal))
      await sleep(30)
      controller.abort()
      await expect(read).rejects.toBeInstanceOf(ClientAbortError)
      await upstream.requests[0]?.ended
      expect(upstream.requests[0]?.aborted).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('aborts the upstream call of a stream abandoned before its end', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      startSse(res)
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        res.write(sseData({ n: i }))
        await sleep(10)
      }
      res.end()
    })
    const client = clientFor(upstream.url)
    try {
      const call = await client.post('/chat', '{}', signal(), 'text/event-stream', refuse)
      const stream = translateSse(call, untilDone)
      expect((await stream.next()).value?.items).toEqual(['{"n":0}'])
      await stream.return()
      await upstream.requests[0]?.ended
      expect(upstream.requests[0]?.aborted).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('fails a call aborted while it waited for a pooled connection, once it gets one', async () => {
    const upstream = await startFakeUpstream(async (req, res) => {
      if (req.url.endsWith('/slow')) await sleep(200)
      sendJson(res, 200, { ok: true })
    })
    const client = clientFor(upstream.url, 1)
    const controller = new AbortController()
    try {
      const first = client.postJson('/slow', '{}', refuse, jsonCall())
      const queued = client.postJson('/queued', '{}', refuse, jsonCall(controller.signal))
      await sleep(30)
      controller.abort()
      await expect(queued).rejects.toBeInstanceOf(ClientAbortError)
      expect(await first).toEqual({ ok: true })
      expect(upstream.requests.map((r) => r.url)).toEqual(['/v1/slow'])
    } finally {
      await client.close()
    }
  })

  it('rejects a read of a body already read to its end with a premature close', async () => {
    const upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, { ok: true }))
    const client = clientFor(upstream.url)
    try {
      const call = await client.post('/chat', '{}', signal(), 'application/json', refuse)
      expect(await readText(call.response.body)).toBe('{"ok":true}')
      await expect(readText(call.response.body)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' })
    } finally {
      await client.close()
    }
  })
})
