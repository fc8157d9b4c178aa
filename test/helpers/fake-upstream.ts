// A real HTTP server on 127.0.0.1 standing in for a provider. It records what it received, so
// tests assert the wire request, and whether the gateway hung up on it early.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { closeAfterTest } from './cleanup.js'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: unknown
  rawBody: string
  /** The gateway's side of the socket: equal on two requests means the connection was reused. */
  remotePort: number | undefined
  /** True when the gateway closed the connection before the response ended. */
  aborted: boolean
  /** Resolves when the exchange ended, either way. */
  ended: Promise<void>
}

export type UpstreamHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>

export interface FakeUpstream {
  /** Origin, e.g. http://127.0.0.1:4321 */
  origin: string
  /** origin + /v1: the base_url an openai provider takes */
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export async function startFakeUpstream(handler: UpstreamHandler): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = []
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const rawBody = Buffer.concat(chunks).toString('utf8')
    let body: unknown = rawBody
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined
    } catch {}
    let resolveEnded!: () => void
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      rawBody,
      remotePort: req.socket.remotePort,
      aborted: false,
      ended: new Promise((resolve) => {
        resolveEnded = resolve
      }),
    }
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true
      resolveEnded()
    })
    requests.push(recorded)
    try {
      await handler(recorded, res)
    } catch (err) {
      if (!res.headersSent) res.writeHead(599)
      res.end(String(err))
    }
  })
  // Long enough to stay above undici's keepAliveTimeoutThreshold (2 s), so connections are reused.
  server.keepAliveTimeout = 10_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  const close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  closeAfterTest(close)
  return { origin, url: `${origin}/v1`, requests, close }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(text)
}

export function startSse(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
}

export const sseData = (data: unknown) =>
  `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`

/** A chat.completion as OpenAI sends it. */
export function completionBody(content: string, model = 'gpt-test', extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-upstream-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    ...extra,
  }
}

/** One chat.completion.chunk as OpenAI streams it. */
export function chunkBody(delta: Record<string, unknown>, finish: string | null = null, model = 'gpt-test') {
  return {
    id: 'chatcmpl-upstream-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    usage: null,
  }
}

export function usageChunk(model = 'gpt-test') {
  return {
    id: 'chatcmpl-upstream-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [],
    usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
  }
}

/** Streams a short answer: role, two content pieces, finish, usage, [DONE]. */
export async function streamAnswer(res: ServerResponse, pieces: string[] = ['Hel', 'lo']) {
  startSse(res)
  res.write(sseData(chunkBody({ role: 'assistant', content: '' })))
  for (const piece of pieces) res.write(sseData(chunkBody({ content: piece })))
  res.write(sseData(chunkBody({}, 'stop')))
  res.write(sseData(usageChunk()))
  res.end(sseData('[DONE]'))
}
