// Open-loop load at a fixed rate: requests start on schedule whether or not earlier ones finished,
// as independent clients do, so a slow gateway meets growing concurrency rather than a politely
// slower client. The load can pause (no new requests, the running ones finish) for a measurement.
import { setTimeout as sleep } from 'node:timers/promises'
import { type ClientContext, sendPlanned } from './soak-client.js'
import { type MixSettings, planRequest, type RequestPlan } from './soak-plan.js'
import { newTally, recordResult, recordSent, type SoakTally } from './soak-tally.js'

export interface LoadSettings {
  rate: number
  /** More than this in flight and the next requests are skipped (and counted), not queued. */
  maxInFlight: number
  mix: MixSettings
}

const tickMs = 10
/** After a stall of the load generator itself, catch up by at most this many requests at once. */
const maxBurst = 20

export interface SoakLoad {
  readonly tally: SoakTally
  inFlight(): number
  start(): void
  /** Stops starting requests and waits (up to `timeoutMs`) for the running ones; true if all ended. */
  pause(timeoutMs: number): Promise<boolean>
}

export function createSoakLoad(
  context: ClientContext,
  settings: LoadSettings,
  random: () => number,
): SoakLoad {
  const tally = newTally()
  let seq = 0
  let running = 0
  let timer: NodeJS.Timeout | undefined
  // Requests due since `since`, counted from the phase start so a paused period is not caught up.
  let since = 0
  let startedInPhase = 0

  const launch = (plan: RequestPlan) => {
    if (running >= settings.maxInFlight) {
      tally.skipped++
      return
    }
    recordSent(tally, plan)
    running++
    sendPlanned(context, plan)
      .catch((err: Error) => ({ outcome: 'unexpected' as const, problem: `client error: ${err.message}` }))
      .then((result) => {
        running--
        recordResult(tally, plan, result)
      })
  }

  const tick = () => {
    const due = Math.floor(((performance.now() - since) * settings.rate) / 1000) - startedInPhase
    const now = Math.min(due, maxBurst)
    for (let i = 0; i < now; i++) launch(planRequest(++seq, random, settings.mix))
    startedInPhase += due > maxBurst ? due : now
  }

  return {
    tally,
    inFlight: () => running,
    start() {
      if (timer) return
      since = performance.now()
      startedInPhase = 0
      timer = setInterval(tick, tickMs)
    },
    async pause(timeoutMs) {
      clearInterval(timer)
      timer = undefined
      const deadline = performance.now() + timeoutMs
      while (running > 0 && performance.now() < deadline) await sleep(50)
      return running === 0
    },
  }
}
