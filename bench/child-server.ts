// Forks dist/bench/serve-in-child.js for one bench server and waits until it listens.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildMessage, ParentMessage, ServerSpec } from './child-protocol.js'

export interface ChildServer {
  kind: ServerSpec['kind']
  origin: string
  /** CPU time (user + system, µs) the server's process has used so far. */
  cpuMicros(): Promise<number>
  /** Asks the child to close its server and exit; kills it if it has not after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

const entry = fileURLToPath(new URL('./serve-in-child.js', import.meta.url))

function nextMessage<T extends ChildMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ChildMessage, { type: T | 'failed' }>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench server exited (${code}) while awaited`))
    const onMessage = (message: ChildMessage) => {
      if (message.type !== type && message.type !== 'failed') return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message as Extract<ChildMessage, { type: T | 'failed' }>)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** `secrets` reach the child as environment variables, which, unlike argv, other users cannot list. */
export async function forkServer(
  spec: ServerSpec,
  secrets: Record<string, string> = {},
): Promise<ChildServer> {
  const child = fork(entry, [JSON.stringify(spec)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...secrets },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const started = await nextMessage(child, 'listening')
  if (started.type === 'failed') throw new Error(`${spec.kind} server failed to start:\n${started.message}`)
  const ask = (message: ParentMessage) => child.send(message)
  return {
    kind: spec.kind,
    origin: started.origin,
    async cpuMicros() {
      const reply = nextMessage(child, 'cpu-usage')
      ask({ type: 'cpu-usage' })
      const usage = await reply
      if (usage.type !== 'cpu-usage') throw new Error(`${spec.kind} server: ${usage.message}`)
      return usage.micros
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (child.connected) ask({ type: 'close' })
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
