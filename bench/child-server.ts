// Forks dist/bench/serve-in-child.js for one bench server and waits until it listens.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { gatewayNodeFlags } from '../config/node-flags.js'
import type { ChildMessage, ParentMessage, ServerSpec } from './child-protocol.js'
import type { ProcessVitals } from './soak-vitals.js'

export interface ChildServer {
  kind: ServerSpec['kind'] | 'portkey'
  origin: string
  /** The server's process id (for CPU pinning: bench/cpu-pinning.ts). */
  pid: number
  /** CPU time (user + system, µs) the server's process has used so far. */
  cpuMicros(): Promise<number>
  /** Memory now and event-loop lag since the previous call; `gc` needs the child forked with --expose-gc. */
  vitals(gc?: boolean): Promise<ProcessVitals>
  /** The counts the server keeps about itself (empty for most). */
  stats(): Promise<Record<string, number>>
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

/**
 * BENCH_CPU_PROF=<dir> profiles every gateway child (floor and AnyGate, not the fake upstream) with
 * V8's sampling profiler: a .cpuprofile per process in <dir>/<kind>/, written when the run stops it. Open it in
 * Chrome DevTools or speedscope. Profiling slows the child, so figures of such a run are not results.
 */
export function profileArgs(kind: ServerSpec['kind'], env: NodeJS.ProcessEnv): string[] {
  const dir = env.BENCH_CPU_PROF
  if (!dir || kind === 'fake-upstream') return process.execArgv
  return [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${dir}/${kind}`]
}

/** AnyGate's children run with the flags it is deployed with; the floor and the fakes with Node's defaults. */
export function nodeFlagsFor(kind: ServerSpec['kind']): readonly string[] {
  return kind === 'anygate' || kind === 'soak-gateway' ? gatewayNodeFlags : []
}

export interface ForkOptions {
  /** Node flags added for this child, e.g. --expose-gc. */
  execArgv?: string[]
}

/** `secrets` reach the child as environment variables, which, unlike argv, other users cannot list. */
export async function forkServer(
  spec: ServerSpec,
  secrets: Record<string, string> = {},
  options: ForkOptions = {},
): Promise<ChildServer> {
  const child = fork(entry, [JSON.stringify(spec)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...secrets },
    execArgv: [
      ...profileArgs(spec.kind, process.env),
      ...nodeFlagsFor(spec.kind),
      ...(options.execArgv ?? []),
    ],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const started = await nextMessage(child, 'listening')
  if (started.type === 'failed') throw new Error(`${spec.kind} server failed to start:\n${started.message}`)
  const ask = (message: ParentMessage) => child.send(message)
  return {
    kind: spec.kind,
    origin: started.origin,
    pid: child.pid ?? -1,
    async cpuMicros() {
      const reply = nextMessage(child, 'cpu-usage')
      ask({ type: 'cpu-usage' })
      const usage = await reply
      if (usage.type !== 'cpu-usage') throw new Error(`${spec.kind} server: ${usage.message}`)
      return usage.micros
    },
    async vitals(gc = false) {
      const reply = nextMessage(child, 'vitals')
      ask({ type: 'vitals', gc })
      const answer = await reply
      if (answer.type !== 'vitals') throw new Error(`${spec.kind} server: ${answer.message}`)
      return answer.vitals
    },
    async stats() {
      const reply = nextMessage(child, 'stats')
      ask({ type: 'stats' })
      const answer = await reply
      if (answer.type !== 'stats') throw new Error(`${spec.kind} server: ${answer.message}`)
      return answer.stats
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
