// Reloading under load: two clients call in a loop, half of it streamed, while the config is reloaded
// five times between two files that map the public model to different upstream models. No call may
// fail, every call started after a reload's answer must reach the new upstream model, and the old
// upstream connections must close once the calls on them ended.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { parseSse } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'
import { chunkBody, completionBody, sseData, usageChunk } from './helpers/fake-upstream.js'
import { bearer, buildFileApp, linesWith, withMaster } from './reload-helpers.js'

/** An OpenAI-speaking upstream that answers with the model it was asked for, and counts sockets. */
async function startEchoingUpstream() {
  const sockets = new Set<Socket>()
  let opened = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; stream?: boolean }
    if (body.stream) await streamModel(res, body.model)
    else {
      await sleep(15)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(completionBody(body.model, body.model)))
    }
  })
  server.keepAliveTimeout = 10_000
  server.on('connection', (socket) => {
    opened++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closeAfterTest(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: `${origin}/v1`, open: () => sockets.size, opened: () => opened }
}

/** Six pieces 40 ms apart: long enough for a reload to land in the middle of most streams. */
async function streamModel(res: ServerResponse, model: string) {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.write(sseData(chunkBody({ role: 'assistant', content: '' }, null, model)))
  for (const piece of [model.slice(0, 3), model.slice(3)]) {
    for (let i = 0; i < 3; i++) {
      await sleep(40)
      res.write(sseData(chunkBody({ content: i === 0 ? piece : '' }, null, model)))
    }
  }
  res.write(sseData(chunkBody({}, 'stop', model)))
  res.write(sseData(usageChunk(model)))
  res.end(sseData('[DONE]'))
}

interface Call {
  stream: boolean
  startedAt: number
  endedAt: number
  /** The mapping in force when the call started; null while a reload was under way. */
  expected: string | null
  /** Generation count when the call started, to find calls that outlived a reload. */
  reloadsBefore: number
  reloadsAfter: number
  status: number
  served: string
  complete: boolean
}

describe('reload under concurrent load', () => {
  it('fails no call, routes every later call to the new mapping, and closes old pools after their calls', async () => {
    const upstream = await startEchoingUpstream()
    const configFor = (upstreamModel: string) =>
      withMaster({
        server: { shutdown_timeout_ms: 10_000 },
        providers: { up: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream-0123456789' } },
        models: [{ name: 'chat', targets: [{ provider: 'up', model: upstreamModel }] }],
      })
    const gateway = await buildFileApp(configFor('model-a'))
    const origin = await gateway.app.listen({ port: 0, host: '127.0.0.1' })

    let mapping: string | null = 'model-a'
    let reloads = 0
    /** Reloads begun: a call whose answer started after one began may have been routed by either. */
    let reloadsBegun = 0
    let running = true
    const calls: Call[] = []

    const call = async (stream: boolean): Promise<void> => {
      const begunBefore = reloadsBegun
      const started: Pick<Call, 'stream' | 'startedAt' | 'expected' | 'reloadsBefore'> = {
        stream,
        startedAt: Date.now(),
        expected: mapping,
        reloadsBefore: reloads,
      }
      let status = 0
      let served = ''
      let complete = false
      try {
        const res = await fetch(`${origin}/v1/chat/completions`, {
          method: 'POST',
          headers: { ...bearer, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
        })
        status = res.status
        // Routed before its headers came: a reload begun since the call started (the request may
        // reach the gateway only after it, on a loaded machine) leaves either mapping correct.
        if (reloadsBegun !== begunBefore) started.expected = null
        if (stream) {
          const events = parseSse(await res.text())
          complete = events.at(-1) === '[DONE]'
          served = events
            .map((e) => e as { choices?: { delta: { content?: string } }[]; error?: { code: string } })
            .map((e) => (e.error ? `error ${e.error.code}` : (e.choices?.[0]?.delta.content ?? '')))
            .join('')
        } else {
          served = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message
            .content
          complete = true
        }
      } catch (err) {
        served = `failed: ${(err as Error).message}`
      }
      calls.push({ ...started, endedAt: Date.now(), reloadsAfter: reloads, status, served, complete })
    }

    const client = async (streamEvery: number) => {
      for (let i = 0; running; i++) await call(i % streamEvery === 0)
    }
    const clients = [client(1), client(3)]

    const reloadResults: { status: number; generation: number }[] = []
    for (let i = 0; i < 5; i++) {
      await sleep(300)
      const next = i % 2 === 0 ? 'model-b' : 'model-a'
      mapping = null
      reloadsBegun++
      gateway.write(configFor(next))
      const res = await fetch(`${origin}/admin/reload`, { method: 'POST', headers: bearer })
      reloadResults.push({
        status: res.status,
        generation: ((await res.json()) as { generation: number }).generation,
      })
      reloads++
      mapping = next
    }
    await sleep(300)
    running = false
    await Promise.all(clients)

    expect(reloadResults).toEqual([2, 3, 4, 5, 6].map((generation) => ({ status: 200, generation })))
    const failed = calls.filter((c) => c.status !== 200 || !c.complete || !c.served.startsWith('model-'))
    expect(failed).toEqual([])
    expect(calls.length).toBeGreaterThan(10)
    const misrouted = calls.filter((c) => c.expected !== null && c.served !== c.expected)
    expect(misrouted).toEqual([])
    // The drain was exercised: streams that started before a reload and ended after it.
    const outlived = calls.filter((c) => c.stream && c.reloadsAfter > c.reloadsBefore)
    expect(outlived.length).toBeGreaterThan(0)

    // Each old runtime closed once its last call ended, none at the drain timeout.
    await expect.poll(() => linesWith(gateway.logs, 'previous runtime closed').length).toBe(5)
    const closes = linesWith(gateway.logs, 'previous runtime closed')
    expect(closes.map((l) => l.generation)).toEqual([1, 2, 3, 4, 5])
    expect(closes.every((l) => l.forced === false)).toBe(true)
    expect(Math.max(...closes.map((l) => l.drained_ms as number))).toBeGreaterThan(0)
    expect(linesWith(gateway.logs, 'previous runtime closed at the drain timeout')).toEqual([])
    expect(gateway.app.runtime.draining).toBe(0)
    // Their upstream connections are gone; only the current pool's may still be open.
    expect(upstream.opened()).toBeGreaterThan(2)
    await expect.poll(() => upstream.open()).toBeLessThanOrEqual(2)
  }, 30_000)
})
