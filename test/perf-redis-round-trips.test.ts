// What one call asks of Redis before its response (issue #5: auth + limits + budget under 1 ms on
// a local Redis), with every per-call check on, as in the bench's stack-redis variant: two
// sequential round trips (the request limits together with the prefetched breaker read; tpm with
// the budget) and no breaker write for a success. Everything else (spend record, settlement, slot release, tpm
// correction) is sent after the response. Watched on the app's own ioredis client.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { chatBody } from './helpers/app.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
import { bearer, buildSpendApp, configKey, masterKey, startUsageUpstream } from './spend-helpers.js'

const prefix = uniquePrefix('perf-round-trips')
const redis = await connectRedisForFile(prefix)

interface Sent {
  command: string
  key: string
  /** Sequential wait the command belongs to: a new one starts when nothing else was in flight. */
  wait: number
}

/** Records the commands sent between a call's start and its response, grouped into waits. */
function watchCommands(app: FastifyInstance, keyPrefix: string) {
  const client = app.stateStore.redis!
  let inFlight = 0
  let wait = 0
  let watching = false
  let sent: Sent[] = []
  const send = client.sendCommand.bind(client)
  client.sendCommand = ((command, ...rest) => {
    const done = () => {
      inFlight--
    }
    command.promise.then(done, done)
    if (watching) {
      if (inFlight === 0) wait++
      const key = command.name.startsWith('eval') ? command.args[2] : command.args[0]
      sent.push({ command: command.name, key: String(key).slice(keyPrefix.length), wait })
    }
    inFlight++
    return send(command, ...rest)
  }) as typeof client.sendCommand
  // Sent once the reply is on its way: off the latency path.
  app.addHook('onSend', async () => {
    watching = false
  })
  return {
    idle: () => inFlight === 0,
    start() {
      sent = []
      wait = 0
      watching = true
    },
    sent: () => sent,
  }
}

/** Auth with a virtual key, every per-key limit, a budget, global_rpm and a priced model. */
function everyCheck(upstreamUrl: string) {
  return {
    auth: {
      master_key: masterKey,
      keys: [
        configKey('team-a', {
          rpm: 1_000_000,
          tpm: 1_000_000_000,
          max_parallel: 1000,
          budget: { amount_usd: 1000, period: 'total' as const },
        }),
      ],
    },
    limits: { global_rpm: 1_000_000 },
    providers: { up: { type: 'openai', base_url: upstreamUrl, api_key: 'sk-upstream-0123456789' } },
    models: [
      {
        name: 'smart',
        targets: [{ provider: 'up', model: 'house-model', price: { input_per_mtok: 1, output_per_mtok: 2 } }],
      },
    ],
  }
}

describe.skipIf(!redis)('Redis round trips of one call with every check on', () => {
  it('makes two sequential round trips before the response and writes no breaker record', async () => {
    const upstream = await startUsageUpstream()
    const keyPrefix = `${prefix}stack:`
    let watch!: ReturnType<typeof watchCommands>
    const { app } = await buildSpendApp(
      {
        ...everyCheck(upstream.url),
        store: { type: 'redis', url: 'redis://127.0.0.1:6379', key_prefix: keyPrefix, on_error: 'deny' },
      },
      {
        setup: (built) => {
          watch = watchCommands(built, keyPrefix)
        },
      },
    )
    const call = async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: bearer('team-a'),
        payload: chatBody('smart', 'hello', { max_tokens: 16 }),
      })
      expect(res.statusCode).toBe(200)
      await app.spend.flush()
      // Releases and corrections are sent without waiting: let them land before the next call.
      while (!watch.idle()) await new Promise((resolve) => setImmediate(resolve))
    }
    // Loads the scripts (a first EVALSHA falls back to EVAL).
    await call()

    const calls = 4
    for (let i = 0; i < calls; i++) {
      await app.routerState.breaker.flush()
      watch.start()
      await call()
      const sent = watch.sent()
      expect(sent.map(({ wait, key }) => `${wait} ${key.replace(/:\d+$/, ':<minute>')}`).sort()).toEqual(
        [
          '1 limits:rl:global',
          '1 limits:rpm:key:cfg-team-a:<minute>',
          '1 limits:parallel:cfg-team-a',
          '2 limits:tpm:key:cfg-team-a:<minute>',
          '2 budget:cfg-team-a:total',
          // Prefetched before the preHandlers: it overlaps the limits' round trip.
          '1 breaker:up/house-model',
        ].sort(),
      )
      expect(sent.find((s) => s.key.startsWith('breaker:'))?.command).toBe('get')
    }

    // The successes reach the shared record with the flush (every second on its own).
    await app.routerState.breaker.flush()
    const stored = JSON.parse((await redis!.get(`${keyPrefix}breaker:up/house-model`))!)
    const ok = stored.record.buckets.reduce((n: number, b: { ok: number }) => n + b.ok, 0)
    expect(ok).toBe(calls + 1)

    // global_rpm's counter under a clean key (it used to be `limits:rl:undefinedundefined-global`).
    expect(await redis!.exists(`${keyPrefix}limits:rl:global`)).toBe(1)
  })
})

describe.skipIf(!redis)('Redis commands of concurrent calls', () => {
  // store/index.ts turns on ioredis's auto-pipelining: what the calls in flight ask in one
  // event-loop turn leaves in one socket write (and comes back in one read), not one per command.
  it('share socket writes: far fewer writes than commands', async () => {
    const upstream = await startUsageUpstream()
    const keyPrefix = `${prefix}concurrent:`
    const { app } = await buildSpendApp({
      ...everyCheck(upstream.url),
      store: { type: 'redis', url: 'redis://127.0.0.1:6379', key_prefix: keyPrefix, on_error: 'deny' },
    })
    const client = app.stateStore.redis!
    const call = () =>
      app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: bearer('team-a'),
        payload: chatBody('smart', 'hello', { max_tokens: 16 }),
      })
    // Loads the scripts (a first EVALSHA falls back to EVAL) before anything is counted.
    expect((await call()).statusCode).toBe(200)
    await app.spend.flush()

    let commands = 0
    let writes = 0
    const send = client.sendCommand.bind(client)
    client.sendCommand = ((...args: Parameters<typeof client.sendCommand>) => {
      commands++
      return send(...args)
    }) as typeof client.sendCommand
    const socket = client.stream
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((...args: unknown[]) => {
      writes++
      return write(...args)
    }) as typeof socket.write

    const answers = await Promise.all(Array.from({ length: 16 }, call))
    expect(answers.map((res) => res.statusCode)).toEqual(Array(16).fill(200))
    await app.spend.flush()
    await app.routerState.breaker.flush()
    // Measured: 274 commands in 36 writes; with auto-pipelining off, 162 writes (only the spend
    // record's explicit transaction shared one).
    expect(commands).toBeGreaterThan(16 * 5)
    expect(writes).toBeLessThan(commands / 4)
  })
})
