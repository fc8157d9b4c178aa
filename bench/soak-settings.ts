// Soak knobs: defaults follow issue #8 (10 minutes at about 100 req/s); the environment shortens a
// run (SOAK_SECONDS=60 in CI) or replays a mix (SOAK_SEED). Pure.
import { defaultMix, type MixSettings } from './soak-plan.js'

export interface SoakSettings {
  /** Seconds of load, warm-up included (SOAK_SECONDS). */
  seconds: number
  /** The first 20% of the run, at least 10 s: JIT, pools and the cache settle; not judged. */
  warmupSeconds: number
  /** Requests per second, all kinds together (SOAK_RATE). */
  rate: number
  /** Seconds between two looks at the gateway's memory and event-loop lag. */
  sampleSeconds: number
  /** Seed of the request mix (SOAK_SEED; random when unset, and printed so a run can be replayed). */
  seed: number
  mix: MixSettings
  /** Pause between two chunks of a streamed answer: a 50-chunk stream lasts about 50 × this. */
  chunkDelayMs: number
  maxInFlight: number
  /** heapUsed after GC may grow at most this share between the end of the warm-up and the end. */
  maxHeapGrowth: number
}

export const minSoakSeconds = 15

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, minimum: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < minimum) {
    throw new Error(`${name} must be a number of at least ${minimum}, got "${raw}"`)
  }
  return value
}

export function warmupSecondsFor(seconds: number): number {
  return Math.max(10, Math.round(seconds * 0.2))
}

export function readSoakSettings(
  env: NodeJS.ProcessEnv = process.env,
  randomSeed = () => Math.floor(Math.random() * 2 ** 31),
): SoakSettings {
  const seconds = numberFrom(env, 'SOAK_SECONDS', 600, minSoakSeconds)
  return {
    seconds,
    warmupSeconds: warmupSecondsFor(seconds),
    rate: numberFrom(env, 'SOAK_RATE', 100, 1),
    sampleSeconds: Math.min(5, Math.max(2, Math.round(seconds / 20))),
    seed: Math.floor(numberFrom(env, 'SOAK_SEED', randomSeed(), 0)),
    mix: defaultMix,
    chunkDelayMs: 5,
    maxInFlight: 500,
    maxHeapGrowth: 0.1,
  }
}
