// Pins the bench's processes to cores, as issue #8 asks "where the machine allows": the gateways
// under test (floor, AnyGate, Portkey) on the last core, the load generator and the fake upstream on
// the others. Unpinned, the scheduler moves the server under test onto the core where autocannon is
// bursting, and its tail latency measures that collision rather than the server. Linux only
// (taskset, util-linux); BENCH_PIN=0 turns it off.
import { execFile } from 'node:child_process'

export interface PinPlan {
  /** taskset CPU list of the gateways under test. */
  servers: string
  /** taskset CPU list of the load generator (this process) and the fake upstream. */
  load: string
}

/** Pure: the core count and environment in, the plan out (undefined: leave the scheduler alone). */
export function pinPlan(cores: number, platform: string, env: NodeJS.ProcessEnv): PinPlan | undefined {
  if (env.BENCH_PIN === '0' || platform !== 'linux' || cores < 2) return undefined
  const last = cores - 1
  return { servers: String(last), load: last === 1 ? '0' : `0-${last - 1}` }
}

/** Every thread of `pid` (V8's and libuv's too: -a) onto `cpus`; false when taskset failed. */
export function pinProcess(pid: number, cpus: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('taskset', ['-a', '-p', '-c', cpus, String(pid)], (err) => resolve(!err))
  })
}

export function describePlan(plan: PinPlan | undefined, pinned: boolean): string {
  if (!plan) return 'no CPU pinning (BENCH_PIN=0, fewer than 2 cores, or not Linux)'
  if (!pinned) return 'CPU pinning asked for but taskset failed, so nothing was pinned'
  return `gateways under test pinned to CPU ${plan.servers}, load generator and fake upstream to CPU ${plan.load}`
}
