// One JSON and one streamed answer from every target before any load: a misconfigured target would
// otherwise show up as an impressively fast stream of errors.
import { Client } from 'undici'
import { chatPath, chatRequestBody, jsonHeaders } from './chat-payloads.js'
import { type BenchTargetName, peerNames } from './report.js'
import type { Target, Targets } from './rounds.js'
import { streamLoad } from './stream-load.js'

async function checkJson(name: string, target: Target): Promise<void> {
  const client = new Client(target.origin)
  try {
    const { statusCode, body } = await client.request({
      method: 'POST',
      path: chatPath,
      headers: { ...jsonHeaders, ...target.request?.headers },
      body: chatRequestBody,
    })
    const text = await body.text()
    const answer = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }
    if (statusCode !== 200 || typeof answer.choices?.[0]?.message?.content !== 'string') {
      throw new Error(`${name}: unexpected chat answer (status ${statusCode}): ${text.slice(0, 300)}`)
    }
  } finally {
    await client.close()
  }
}

export async function checkTargets(targets: Targets, expectedEvents: number): Promise<void> {
  for (const [name, target] of Object.entries(targets)) {
    await checkJson(name, target)
    const stream = await streamLoad(target.origin, {
      requests: 1,
      concurrency: 1,
      expectedEvents,
      headers: target.request?.headers,
    })
    if (stream.failed === 0) continue
    const problem = `unexpected streamed answer: ${stream.firstFailure}`
    // A peer that cannot stream is still compared on JSON; the stream scenario leaves it out and says why.
    if ((peerNames as readonly BenchTargetName[]).includes(name as BenchTargetName))
      target.streamFailure = problem
    else throw new Error(`${name}: ${problem}`)
  }
}
