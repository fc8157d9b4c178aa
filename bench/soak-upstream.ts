// The soak's upstream: OpenAI-shaped chat (JSON, or a stream of `chunks` chunks at a realistic pace)
// and embeddings, with prepared answers like bench/fake-upstream.ts. A request whose prompt carries a
// fault marker (soak-plan.ts) gets that fault instead: on its first attempt only, or on every one.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { chatChunks, chatCompletion, usageChunk } from './chat-payloads.js'
import type { RunningServer } from './running-server.js'
import { writeFault } from './soak-faults.js'
import { embeddingsAnswer } from './soak-payloads.js'
import { type FaultPlan, parseFaultMarker } from './soak-plan.js'

/** How long an idle upstream socket stays open. */
export const idleSocketSeconds = 3

export interface SoakUpstreamOptions {
  /** Content chunks per streamed answer. */
  chunks: number
  /** Pause before each chunk after the first, so streams last long enough to be cut or left. */
  chunkDelayMs: number
}

const sseEvent = (data: object | string) =>
  Buffer.from(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)

function prepareAnswers(options: SoakUpstreamOptions) {
  const chunkEvents = chatChunks(options.chunks).map(sseEvent)
  const done = sseEvent('[DONE]')
  return {
    chat: Buffer.from(JSON.stringify(chatCompletion)),
    embeddings: Buffer.from(JSON.stringify(embeddingsAnswer)),
    withUsage: [...chunkEvents, sseEvent(usageChunk(options.chunks)), done],
    withoutUsage: [...chunkEvents, done],
  }
}

interface Wish {
  stream: boolean
  includeUsage: boolean
}

function wishOf(text: string): Wish | undefined {
  try {
    const body = JSON.parse(text) as { stream?: unknown; stream_options?: { include_usage?: unknown } }
    return { stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true }
  } catch {
    return undefined
  }
}

function sendJson(res: ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  })
  res.end(body)
}

export async function startSoakUpstream(options: SoakUpstreamOptions): Promise<RunningServer> {
  const answers = prepareAnswers(options)
  const counts: Record<string, number> = { requests: 0 }
  const count = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1
  }
  // Requests whose one allowed fault was already injected: later attempts are answered normally.
  const faultedOnce = new Set<number>()

  const faultFor = (text: string): FaultPlan | undefined => {
    const marked = parseFaultMarker(text)
    if (!marked) return undefined
    if (marked.fault.attempts === 'first') {
      if (faultedOnce.has(marked.seq)) return undefined
      faultedOnce.add(marked.seq)
    }
    return marked.fault
  }

  async function streamSlowly(res: ServerResponse, events: readonly Buffer[]): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && options.chunkDelayMs > 0) await sleep(options.chunkDelayMs)
      // The gateway hung up (its client left): stop writing, as a real provider would.
      if (res.destroyed) return
      res.write(events[i])
    }
    res.end()
  }

  async function answer(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    count('requests')
    const path = req.url ?? ''
    const embeddings = path.endsWith('/embeddings')
    if (req.method !== 'POST' || !(embeddings || path.endsWith('/chat/completions'))) {
      sendJson(res, 404, '{"error":{"message":"not found","type":"invalid_request_error"}}')
      return
    }
    const wish = wishOf(text)
    if (!wish) {
      sendJson(res, 400, '{"error":{"message":"invalid JSON","type":"invalid_request_error"}}')
      return
    }
    const events = wish.includeUsage ? answers.withUsage : answers.withoutUsage
    const fault = faultFor(text)
    if (fault) {
      count(`fault ${fault.type} (${fault.at})`)
      await writeFault({ res, stream: wish.stream, fault, events, chunkDelayMs: options.chunkDelayMs })
      return
    }
    if (embeddings) sendJson(res, 200, answers.embeddings)
    else if (!wish.stream) sendJson(res, 200, answers.chat)
    else await streamSlowly(res, events)
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      answer(req, res, Buffer.concat(parts).toString('utf8')).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 599, JSON.stringify({ error: { message: err.message } }))
        else res.destroy()
      })
    })
  })
  // Short, so the sockets a burst opened are gone by the time the soak measures memory (a few
  // seconds of quiet, see soak.ts) while busy sockets are still reused.
  server.keepAliveTimeout = idleSocketSeconds * 1000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    stats: () => ({ ...counts }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
