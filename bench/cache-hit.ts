// The cache scenario's request: the cacheable chat request, a warm-up that stores its answer, and
// the check that each measured response really was served from the cache.
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { cacheableRequestBody, chatPath, jsonHeaders } from './chat-payloads.js'
import type { ResponseHeaders } from './http-load.js'
import type { Target } from './rounds.js'

export const cacheHeader = 'x-anygate-cache'

/** Why a response was not a cache hit, or undefined when it was. */
export function cacheHitProblem(headers: ResponseHeaders): string | undefined {
  const value = headers[cacheHeader]
  if (value === 'HIT') return undefined
  return `${cacheHeader}: ${value === undefined ? '(absent)' : String(value)} instead of HIT`
}

/**
 * Sends the cacheable request until it is answered from the cache. The first call is a miss whose
 * answer is stored on its way out, so the second is normally the first hit; a few more are allowed.
 */
export async function warmCache(target: Target, attempts = 10): Promise<void> {
  const client = new Client(target.origin)
  let last = 'no answer'
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const { statusCode, headers, body } = await client.request({
        method: 'POST',
        path: chatPath,
        headers: { ...jsonHeaders, ...target.request?.headers },
        body: cacheableRequestBody,
      })
      const text = await body.text()
      if (statusCode !== 200) throw new Error(`cache warm-up: status ${statusCode}: ${text.slice(0, 300)}`)
      const problem = cacheHitProblem(headers)
      if (problem === undefined) return
      last = problem
      // The store is written after the answer is sent: give it a moment before asking again.
      await sleep(10)
    }
  } finally {
    await client.close()
  }
  throw new Error(`cache warm-up: no cache hit after ${attempts} identical requests (last: ${last})`)
}
