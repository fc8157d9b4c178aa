// Loopback provider upstreams for test/security/secrets.test.ts, in each wire format the gateway
// speaks (OpenAI, Azure, Anthropic, Gemini), that answer normally and also fail in every way that
// could carry a key back: errors that echo the key they received (some real providers do, whole or
// cut short), a key in the error's other fields, mid-stream errors. Plus an OTLP collector stand-in.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { anthropicMessage, sseOf, toEvents } from '../anthropic-fake.js'
import {
  chunkBody,
  completionBody,
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  sseData,
  startFakeUpstream,
  startSse,
  streamAnswer,
} from '../helpers/fake-upstream.js'

export type Wire = 'openai' | 'azure' | 'anthropic' | 'gemini'

export interface LeakyUpstream {
  upstream: FakeUpstream
  /** Keys this fake put in an error body: proof the scrubbing had something to scrub. */
  echoed: Set<string>
}

function receivedKey(wire: Wire, headers: IncomingHttpHeaders): string {
  const header =
    wire === 'anthropic'
      ? headers['x-api-key']
      : wire === 'gemini'
        ? headers['x-goog-api-key']
        : wire === 'azure'
          ? headers['api-key']
          : headers.authorization?.replace(/^Bearer /, '')
  return typeof header === 'string' ? header : ''
}

interface Call {
  model: string
  stream: boolean
  embeddings: boolean
}

function callOf(wire: Wire, req: RecordedRequest): Call {
  const body = (req.body ?? {}) as { model?: string; stream?: boolean }
  if (wire === 'gemini') {
    const [, model = '', method = ''] = /\/models\/([^:]+):(\w+)/.exec(req.url) ?? []
    return {
      model: decodeURIComponent(model),
      stream: method === 'streamGenerateContent',
      embeddings: method.includes('mbed'),
    }
  }
  if (wire === 'azure') {
    const [, model = '', op = ''] = /\/deployments\/([^/]+)\/([a-z/]+)/.exec(req.url) ?? []
    return { model: decodeURIComponent(model), stream: body.stream === true, embeddings: op === 'embeddings' }
  }
  return {
    model: body.model ?? '',
    stream: body.stream === true,
    embeddings: req.url.endsWith('/embeddings'),
  }
}

function sendError(wire: Wire, res: ServerResponse, status: number, message: string) {
  if (wire === 'anthropic') {
    const type = status === 401 ? 'authentication_error' : 'api_error'
    return sendJson(res, status, { type: 'error', error: { type, message } })
  }
  if (wire === 'gemini') {
    const state = status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL'
    return sendJson(res, status, { error: { code: status, message, status: state } })
  }
  return sendJson(res, status, { error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } })
}

const geminiChunk = (text: string, last: boolean) => ({
  candidates: [
    { content: { role: 'model', parts: [{ text }] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) },
  ],
  ...(last ? { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } } : {}),
})

function sendAnswer(wire: Wire, res: ServerResponse, call: Call, body: unknown) {
  if (call.embeddings) {
    if (wire === 'gemini') {
      const requests = (body as { requests?: unknown[] } | undefined)?.requests
      if (requests) return sendJson(res, 200, { embeddings: requests.map(() => ({ values: [0.1, 0.2] })) })
      return sendJson(res, 200, { embedding: { values: [0.1, 0.2] } })
    }
    return sendJson(res, 200, {
      object: 'list',
      model: call.model,
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      usage: { prompt_tokens: 2, total_tokens: 2 },
    })
  }
  if (wire === 'anthropic') {
    const message = anthropicMessage([{ type: 'text', text: 'Hello' }])
    if (!call.stream) return sendJson(res, 200, message)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(toEvents(message).map(sseOf).join(''))
    return
  }
  if (wire === 'gemini') {
    if (!call.stream) return sendJson(res, 200, geminiChunk('Hello', true))
    startSse(res)
    res.write(sseData(geminiChunk('Hel', false)))
    res.end(sseData(geminiChunk('lo', true)))
    return
  }
  if (call.stream) return streamAnswer(res)
  return sendJson(res, 200, completionBody('Hello'))
}

/** The first part of a stream, before the failure scripted for it. */
function startStream(wire: Wire, res: ServerResponse) {
  if (wire === 'anthropic') {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const [start, ping, blockStart, delta] = toEvents(anthropicMessage([{ type: 'text', text: 'Hell' }]))
    res.write([start!, ping!, blockStart!, delta!].map(sseOf).join(''))
    return
  }
  startSse(res)
  res.write(
    sseData(wire === 'gemini' ? geminiChunk('Hel', false) : chunkBody({ role: 'assistant', content: 'Hel' })),
  )
}

function streamError(wire: Wire, res: ServerResponse, message: string) {
  if (wire === 'anthropic') {
    res.end(sseOf({ type: 'error', error: { type: 'overloaded_error', message } }))
  } else if (wire === 'gemini') {
    res.end(sseData({ error: { code: 500, message, status: 'INTERNAL' } }))
  } else {
    res.end(sseData({ error: { message, type: 'server_error', code: null } }))
  }
}

/**
 * A provider's loopback stand-in. The upstream model name picks what it does: `echo-401`,
 * `echo-500` and `echo-prefix` refuse and repeat the key (whole, or its first 16 characters),
 * `echo-fields` puts it in the error's type, code and param, `echo-stream` fails mid-stream with the
 * key in the error, `cut-stream` resets mid-stream, `slow` and `stall-stream` go quiet, `html`
 * answers a web page; anything else is a normal answer.
 */
export async function startLeakyUpstream(wire: Wire): Promise<LeakyUpstream> {
  const echoed = new Set<string>()
  const upstream = await startFakeUpstream(async (req, res) => {
    const call = callOf(wire, req)
    const key = receivedKey(wire, req.headers)
    const echo = (text: string) => {
      if (key) echoed.add(key)
      return text
    }
    switch (call.model) {
      case 'echo-401':
        return sendError(wire, res, 401, echo(`Incorrect API key provided: ${key}. Check your key.`))
      case 'echo-prefix':
        return sendError(wire, res, 401, echo(`Incorrect API key provided: ${key.slice(0, 16)}****.`))
      case 'echo-fields':
        echo(key)
        return sendJson(res, 400, { error: { message: 'Invalid value.', type: key, code: key, param: key } })
      case 'echo-500':
        return sendError(wire, res, 500, echo(`internal error while serving key ${key}`))
      case 'echo-stream':
        startStream(wire, res)
        return streamError(wire, res, echo(`stream failed for key ${key}`))
      case 'cut-stream':
        startStream(wire, res)
        await sleep(50)
        res.destroy()
        return
      case 'stall-stream':
        startStream(wire, res)
        await Promise.race([req.ended, sleep(5_000)])
        res.end()
        return
      case 'slow':
        await Promise.race([req.ended, sleep(5_000)])
        return sendAnswer(wire, res, call, req.body)
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end(`<html><body>Proxy login for ${echo(key)}</body></html>`)
        return
      default:
        return sendAnswer(wire, res, call, req.body)
    }
  })
  return { upstream, echoed }
}

/** A collector stand-in: keeps every OTLP/HTTP export body. */
export async function startOtlpReceiver() {
  const bodies: string[] = []
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    bodies.push(Buffer.concat(chunks).toString('utf8'))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close }
}
