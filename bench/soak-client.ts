// Sends one planned soak request and says how it ended. Streams are read chunk by chunk so a
// planned abort happens mid-stream, as a client closing its tab would.
import type { Pool } from 'undici'
import { judgeResponse, outcomeOf } from './soak-checks.js'
import { soakRequest } from './soak-payloads.js'
import { expectationOf, type RequestPlan } from './soak-plan.js'
import type { CallResult } from './soak-tally.js'

export interface ClientContext {
  pool: Pool
  clientKey: string
  /** Keys that must never appear in a response. */
  secrets: readonly string[]
  streamChunks: number
}

const headerText = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value)

/** SSE events completed in `text` (blank-line separated), counted as chunks arrive. */
const eventEnds = (text: string) => text.split('\n\n').length - 1

export async function sendPlanned(context: ClientContext, plan: RequestPlan): Promise<CallResult> {
  const request = soakRequest(plan, context.clientKey)
  const expectation = expectationOf(plan)
  const abortAfter = plan.abortAfterEvents
  const controller = new AbortController()
  let status = 0
  let contentType = ''
  let cache: string | undefined
  const parts: Buffer[] = []
  try {
    const response = await context.pool.request({
      method: 'POST',
      path: request.path,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    })
    status = response.statusCode
    contentType = headerText(response.headers['content-type']) ?? ''
    cache = headerText(response.headers['x-anygate-cache'])
    let events = 0
    for await (const part of response.body) {
      parts.push(part as Buffer)
      if (abortAfter === undefined || status !== 200) continue
      events += eventEnds((part as Buffer).toString('utf8'))
      if (events >= abortAfter) {
        controller.abort()
        return { outcome: 'aborted', cache }
      }
    }
  } catch (err) {
    if (controller.signal.aborted) return { outcome: 'aborted', cache }
    return { outcome: 'unexpected', problem: `no clean answer: ${(err as Error).message}`, cache }
  }
  const judgement = judgeResponse(
    plan.kind,
    { status, contentType, text: Buffer.concat(parts).toString('utf8') },
    context.secrets,
    context.streamChunks,
  )
  // A stream meant to be aborted that ended first is judged as the success it then had to be.
  const result = outcomeOf(expectation === 'client-abort' ? 'success' : expectation, judgement)
  return {
    ...result,
    cache,
    ...(judgement.verdict === 'clean-error' ? { errorCode: judgement.code } : {}),
  }
}
