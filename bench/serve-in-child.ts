// Entry point of a forked bench server: one server per process, so the load generator, each
// gateway and the fake upstream get an event loop of their own. Talks to the parent over IPC only.
import type { ChildMessage, ParentMessage, ServerSpec } from './child-protocol.js'
import type { RunningServer } from './running-server.js'
import { createVitalsProbe } from './soak-vitals.js'

// Imported on demand so the fake upstream's process never loads Fastify or the gateway.
async function start(spec: ServerSpec): Promise<RunningServer> {
  switch (spec.kind) {
    case 'fake-upstream':
      return (await import('./fake-upstream.js')).startFakeUpstream(spec.options)
    case 'floor':
      return (await import('./floor.js')).startFloor(spec.options)
    case 'anygate':
      return (await import('./anygate-target.js')).startAnyGate(spec.options)
    case 'soak-upstream':
      return (await import('./soak-upstream.js')).startSoakUpstream(spec.options)
    case 'soak-gateway':
      return (await import('./soak-gateway.js')).startSoakGateway(spec.options)
  }
}

function send(message: ChildMessage): void {
  process.send?.(message)
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('serve-in-child.js is meant to be forked by bench/run.js')
  const spec = JSON.parse(process.argv[2] ?? '') as ServerSpec
  let server: RunningServer
  try {
    server = await start(spec)
  } catch (err) {
    send({ type: 'failed', message: (err as Error).stack ?? String(err) })
    process.exit(1)
  }
  // Started on the first ask only, so a bench server never pays for a lag monitor it is not asked about.
  const vitals = createVitalsProbe()
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    await server.close()
    // Pools and timers must not keep a finished bench server alive.
    process.exit(0)
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'close') void close()
    if (message.type === 'cpu-usage') {
      const { user, system } = process.cpuUsage()
      send({ type: 'cpu-usage', micros: user + system })
    }
    if (message.type === 'vitals') send({ type: 'vitals', vitals: vitals.read(message.gc) })
    if (message.type === 'stats') send({ type: 'stats', stats: server.stats?.() ?? {} })
  })
  // The parent died or hung up: nobody will ask to close any more.
  process.once('disconnect', () => void close())
  send({ type: 'listening', origin: server.origin })
}

await main()
