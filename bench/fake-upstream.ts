// An OpenAI-shaped upstream that costs as little as possible per request: every response body and
// header list is serialized once at start-up, so a request is one body read and one or a few writes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { chatChunks, chatCompletion, chatPath, idleStreamMarker, usageChunk } from './chat-payloads.js'
import type { RunningServer } from './running-server.js'

export interface FakeUpstreamOptions {
  /** Content chunks per streamed answer. */
  chunks: number
  /** Pause before each chunk after the first; 0 writes the whole answer at once. */
  chunkDelayMs: number
}

export const defaultFakeUpstreamOptions: FakeUpstreamOptions = { chunks: 50, chunkDelayMs: 0 }

const sseEvent = (data: object | string) =>
  Buffer.from(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)

function prepareAnswers(options: FakeUpstreamOptions) {
  const json = Buffer.from(JSON.stringify(chatCompletion))
  const chunkEvents = chatChunks(options.chunks).map(sseEvent)
  const tail = sseEvent('[DONE]')
  const withUsage = [...chunkEvents, sseEvent(usageChunk(options.chunks)), tail]
  const withoutUsage = [...chunkEvents, tail]
  return {
    json,
    // writeHead takes a flat [name, value, ...] list without building a header object per call.
    jsonHeaders: ['content-type', 'application/json', 'content-length', String(json.length)],
    sseHeaders: ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache'],
    withUsage,
    withoutUsage,
    withUsageJoined: Buffer.concat(withUsage),
    withoutUsageJoined: Buffer.concat(withoutUsage),
  }
}

interface StreamWish {
  stream: boolean
  includeUsage: boolean
  /** One chunk, then silence until the client leaves (the idle-streams scenario). */
  idle: boolean
}

function streamWish(text: string): StreamWish | undefined {
  // Most bench requests are non-stream: skip JSON.parse when the key cannot be there.
  if (!text.includes('"stream"')) return { stream: false, includeUsage: false, idle: false }
  try {
    const body = JSON.parse(text) as { stream?: unknown; stream_options?: { include_usage?: unknown } }
    return {
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
      idle: text.includes(idleStreamMarker),
    }
  } catch {
    return undefined
  }
}

export async function startFakeUpstream(
  options: FakeUpstreamOptions = defaultFakeUpstreamOptions,
): Promise<RunningServer> {
  const answers = prepareAnswers(options)

  async function writeSlowly(res: ServerResponse, events: Buffer[]): Promise<void> {
    for (let i = 0; i < events.length; i++) {
      if (i > 0) await sleep(options.chunkDelayMs)
      if (res.destroyed) return
      res.write(events[i])
    }
    res.end()
  }

  function answer(req: IncomingMessage, res: ServerResponse, text: string): void {
    if (req.method !== 'POST' || req.url !== chatPath) {
      res.writeHead(404, ['content-type', 'application/json']).end('{"error":{"message":"not found"}}')
      return
    }
    const wish = streamWish(text)
    if (!wish) {
      res.writeHead(400, ['content-type', 'application/json']).end('{"error":{"message":"invalid JSON"}}')
      return
    }
    if (!wish.stream) {
      res.writeHead(200, answers.jsonHeaders).end(answers.json)
      return
    }
    res.writeHead(200, answers.sseHeaders)
    if (wish.idle) {
      // The response stays open; the client (or the gateway, once its client left) closes the socket.
      res.write(answers.withoutUsage[0])
      return
    }
    if (options.chunkDelayMs <= 0) {
      res.end(wish.includeUsage ? answers.withUsageJoined : answers.withoutUsageJoined)
      return
    }
    void writeSlowly(res, wish.includeUsage ? answers.withUsage : answers.withoutUsage)
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () =>
      answer(req, res, parts.length === 1 ? parts[0]!.toString() : Buffer.concat(parts).toString()),
    )
  })
  // Load generators and gateway pools keep their sockets; the server should not close them first.
  server.keepAliveTimeout = 65_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
