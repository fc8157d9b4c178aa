// How the soak upstream misbehaves, one writer per fault type: the same faults test/faults/fault-kit.ts
// checks one at a time (that kit lives with vitest and the test helpers, so the soak has its own,
// written against the bench's prepared answers).
import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FaultPlan, FaultType } from './soak-plan.js'

export interface FaultContext {
  res: ServerResponse
  stream: boolean
  fault: FaultPlan
  /** The SSE events of a healthy streamed answer, as prepared bytes. */
  events: readonly Buffer[]
  /** Pause between two chunks of a stream. */
  chunkDelayMs: number
}

const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
const jsonHeaders = { 'content-type': 'application/json' }

const brokenJson = '{"id": "chatcmpl-broken", "object": "chat.completion", choices: [}'
const partialJson =
  '{"id":"chatcmpl-cut","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi'

const rateLimitBody = JSON.stringify({
  error: {
    message: 'Rate limit reached for fake-model on requests per min (RPM): Limit 3.',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
})
const serverErrorBody = JSON.stringify({
  error: {
    message: 'The server had an error while processing your request.',
    type: 'server_error',
    param: null,
    code: null,
  },
})

/** Resolves when the gateway hung up on this exchange (it always does, on its timeout at the latest). */
const untilClosed = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    if (res.destroyed) resolve()
    else res.once('close', () => resolve())
  })

/** Lets written bytes leave before the socket is cut, as a real upstream dying mid-answer. */
const flushed = () => sleep(20)

/** Headers, then `count` chunks of the healthy stream at its usual pace; false if the gateway left. */
async function openStream(context: FaultContext, count: number): Promise<boolean> {
  const { res, events, chunkDelayMs } = context
  res.writeHead(200, sseHeaders)
  for (let i = 0; i < count; i++) {
    if (i > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs)
    if (res.destroyed) return false
    res.write(events[i])
  }
  return true
}

const halfOf = (event: Buffer) => event.subarray(0, Math.floor(event.length / 2))

async function reset(context: FaultContext): Promise<void> {
  const { res, stream, fault, events } = context
  if (stream) {
    if (!(await openStream(context, fault.afterChunks))) return
    res.write(halfOf(events[fault.afterChunks]!))
  } else {
    res.writeHead(200, { ...jsonHeaders, 'content-length': String(partialJson.length * 2) })
    res.write(partialJson)
  }
  await flushed()
  res.socket?.destroy()
}

async function stall(context: FaultContext): Promise<void> {
  const { res, stream, fault } = context
  if (stream) {
    if (!(await openStream(context, fault.afterChunks))) return
  } else res.writeHead(200, jsonHeaders)
  res.flushHeaders()
  await untilClosed(res)
}

/** Ends cleanly at the HTTP level, but in the middle of an event or of the JSON. */
async function truncated(context: FaultContext): Promise<void> {
  const { res, stream, fault, events } = context
  if (!stream) {
    res.writeHead(200, jsonHeaders)
    res.end(partialJson)
    return
  }
  if (!(await openStream(context, fault.afterChunks))) return
  res.end(halfOf(events[fault.afterChunks]!))
}

async function malformed(context: FaultContext): Promise<void> {
  const { res, stream, fault } = context
  if (!stream) {
    res.writeHead(200, jsonHeaders)
    res.end(brokenJson)
    return
  }
  if (!(await openStream(context, fault.afterChunks))) return
  res.write(`data: ${brokenJson}\n\n`)
  res.end('data: [DONE]\n\n')
}

const writers: Record<FaultType, (context: FaultContext) => void | Promise<void>> = {
  reset,
  stall,
  truncated,
  malformed,
  'status-500': ({ res }) => {
    res.writeHead(500, jsonHeaders).end(serverErrorBody)
  },
  // Retry-After 1: the gateway must wait that long before trying the same target again.
  'status-429': ({ res }) => {
    res.writeHead(429, { ...jsonHeaders, 'retry-after': '1' }).end(rateLimitBody)
  },
}

export const writeFault = (context: FaultContext) => writers[context.fault.type](context)
