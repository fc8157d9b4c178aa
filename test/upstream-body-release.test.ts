// A streamed body abandoned unread (error event mid-stream, upstream still sending) is destroyed;
// undici then emits RequestAbortedError on it, which must not become an uncaught exception.
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { expect, it } from 'vitest'
import { createOpenAIAdapter, openAIDialect } from '../providers/openai/adapter.js'
import { testConfig } from './helpers/app.js'
import { chunkBody, sseData, startFakeUpstream, startSse } from './helpers/fake-upstream.js'

it('abandoning a stream mid-body neither crashes nor leaks the upstream call', async () => {
  const upstream = await startFakeUpstream(async (_req, res) => {
    startSse(res)
    res.write(sseData(chunkBody({ role: 'assistant', content: 'Hi' })))
    res.write(sseData({ error: { message: 'overloaded', type: 'server_error' } }))
    for (let i = 0; i < 20 && !res.destroyed; i++) {
      res.write(sseData(chunkBody({ content: 'more' })))
      await sleep(10)
    }
    res.end()
  })
  const config = testConfig({ providers: { up: { type: 'openai', base_url: upstream.url } } }).providers[0]!
  const adapter = createOpenAIAdapter(config, openAIDialect)
  const uncaught: unknown[] = []
  const onUncaught = (err: unknown) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  try {
    const ctx = {
      model: 'm',
      signal: new AbortController().signal,
      requestId: 'r',
      log: pino({ level: 'silent' }),
      headers: {},
    }
    const stream = await adapter.streamChat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, ctx)
    const seen: unknown[] = []
    await expect(
      (async () => {
        for await (const chunk of stream) seen.push(chunk)
      })(),
    ).rejects.toMatchObject({ statusCode: 502 })
    expect(seen).toHaveLength(1)
    await upstream.requests[0]?.ended
    await sleep(50)
    expect(upstream.requests[0]?.aborted).toBe(true)
    expect(uncaught).toEqual([])
  } finally {
    process.off('uncaughtException', onUncaught)
    await adapter.close?.()
  }
})
