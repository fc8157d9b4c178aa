// Streaming load with our own client, since autocannon only sees whole responses. Time to first
// byte is taken at the first body chunk (the first SSE event), not at the response headers.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { chatPath, jsonHeaders, streamRequestBody } from './chat-payloads.js'

export interface StreamLoadResult {
  ttfbMs: number[]
  totalMs: number[]
  failed: number
  /** The first failure's reason, so a broken target is explained rather than just counted. */
  firstFailure?: string
}

export interface StreamLoadOptions {
  requests: number
  concurrency: number
  /** SSE events a complete answer holds, [DONE] included. */
  expectedEvents: number
  /** Sent beside content-type, e.g. the virtual key the target expects. */
  headers?: Record<string, string>
}

function streamProblem(statusCode: number, text: string, expectedEvents: number): string | undefined {
  if (statusCode !== 200) return `status ${statusCode}: ${text.slice(0, 200)}`
  if (!text.endsWith('data: [DONE]\n\n')) return `no [DONE] at the end: ...${text.slice(-200)}`
  const events = text.split('\n\n').filter((event) => event.startsWith('data: ')).length
  if (events !== expectedEvents) return `${events} events instead of ${expectedEvents}`
  return undefined
}

export async function streamLoad(origin: string, options: StreamLoadOptions): Promise<StreamLoadResult> {
  // One socket per concurrent stream, kept alive across requests like any SDK's agent.
  const pool = new Pool(origin, { connections: options.concurrency, keepAliveTimeout: 30_000 })
  const result: StreamLoadResult = { ttfbMs: [], totalMs: [], failed: 0 }
  const headers = { ...jsonHeaders, ...options.headers }
  let started = 0

  async function oneStream(): Promise<void> {
    const startedAt = performance.now()
    let firstByteAt = 0
    const parts: Buffer[] = []
    let problem: string | undefined
    try {
      const { statusCode, body } = await pool.request({
        method: 'POST',
        path: chatPath,
        headers,
        body: streamRequestBody,
      })
      for await (const part of body) {
        if (firstByteAt === 0) firstByteAt = performance.now()
        parts.push(part as Buffer)
      }
      const endedAt = performance.now()
      // Checked after the clock stopped, so validation never counts as target time.
      problem = streamProblem(statusCode, Buffer.concat(parts).toString('utf8'), options.expectedEvents)
      if (!problem) {
        result.ttfbMs.push(firstByteAt - startedAt)
        result.totalMs.push(endedAt - startedAt)
      }
    } catch (err) {
      problem = (err as Error).message
    }
    if (problem) {
      result.failed++
      result.firstFailure ??= problem
    }
  }

  async function worker(): Promise<void> {
    while (started < options.requests) {
      started++
      await oneStream()
    }
  }

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker))
  } finally {
    await pool.close()
  }
  return result
}
