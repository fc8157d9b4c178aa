// Bench knobs. Defaults follow the brief; the environment can shorten a run or change the stream.

export interface BenchSettings {
  /** Measured load per target and scenario, in seconds, split over the rounds (BENCH_DURATION). */
  durationSeconds: number
  /** Discarded run before each measurement, so JIT, pools and sockets are warm. */
  warmupSeconds: number
  /**
   * Each measurement is split into rounds taken in turn across the targets, so a noisy neighbour
   * on the machine weighs on all three alike rather than on whichever ran at the wrong moment.
   */
  rounds: number
  /** Rates of the fixed-rate scenario, each measured on its own (BENCH_RATES=200,500,1000). */
  fixedRates: number[]
  /**
   * Keep-alive connections the evenly paced requests of the fixed rate share (bench/paced-load.ts):
   * enough that a request seldom waits for a free one when an answer is late.
   */
  rateConnections: number
  throughputConnections: number
  /**
   * The throughput scenarios' warm-up, per target: closed-loop load until this many requests were
   * served (BENCH_WARMUP_REQUESTS), or `throughputWarmupMaxSeconds` passed. The goal is the cost
   * per call of a gateway that has been running, and V8 keeps optimizing for a while: AnyGate, with
   * more code on the path than the floor, still finished ~37 optimizations between its 40,000th and
   * 60,000th request and 1-2 per 20,000 after that (--trace-opt), each a few ms on the core the
   * gateway is pinned to. A one-second warm-up left that in the measured rounds of whichever target
   * had the most code.
   */
  throughputWarmupRequests: number
  throughputWarmupMaxSeconds: number
  /**
   * Rate of the plugins and cache scenarios: low enough that a request never waits for another, so
   * the difference between two variants is the price of their plugins rather than of queueing.
   */
  pluginRate: number
  /** One connection: requests go one after another, none queues behind another in the gateway. */
  pluginConnections: number
  /**
   * Rounds of the plugins and cache scenarios: more and shorter than `rounds`, since their figures
   * are differences of a few tenths of a millisecond between targets measured at different moments.
   */
  pluginRounds: number
  /** Content chunks per streamed answer (BENCH_CHUNKS). */
  streamChunks: number
  /** Fake upstream pause between chunks (BENCH_CHUNK_DELAY_MS). */
  chunkDelayMs: number
  /**
   * Streams in flight at once, each level measured on its own (BENCH_STREAM_CONCURRENCY=1,8): one at
   * a time gives what the gateway adds to a stream's first byte; 8 at once, what queueing for the CPU
   * adds on top when the upstream sends every chunk without a pause.
   */
  streamConcurrencies: number[]
  streamRequests: number
  streamWarmupRequests: number
  /** Streams the idle scenario holds open at once (BENCH_IDLE_STREAMS). */
  idleStreams: number
  /** How long the idle streams are held, sampling RSS and event-loop delay, in seconds. */
  idleHoldSeconds: number
  /** Rate of the full-stack scenario's latency run, over `rateConnections`. */
  stackRate: number
}

function rateList(env: NodeJS.ProcessEnv): number[] {
  const raw = env.BENCH_RATES
  if (raw === undefined || raw.trim() === '') return [200, 500, 1000]
  const rates = raw.split(',').map((part) => Number(part.trim()))
  if (rates.some((rate) => !Number.isInteger(rate) || rate <= 0)) {
    throw new Error(`BENCH_RATES must be positive whole req/s separated by commas, got "${raw}"`)
  }
  return rates
}

function concurrencyList(env: NodeJS.ProcessEnv): number[] {
  const raw = env.BENCH_STREAM_CONCURRENCY
  if (raw === undefined || raw.trim() === '') return [1, 8]
  const levels = raw.split(',').map((part) => Number(part.trim()))
  if (levels.some((level) => !Number.isInteger(level) || level <= 0)) {
    throw new Error(
      `BENCH_STREAM_CONCURRENCY must be positive whole numbers separated by commas, got "${raw}"`,
    )
  }
  return levels
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, allowZero = false): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`)
  }
  return value
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const durationSeconds = positive(env, 'BENCH_DURATION', 5)
  // The stream scenario is sized by request count; scale it with the duration so a short run stays short.
  const scale = durationSeconds / 5
  return {
    durationSeconds,
    warmupSeconds: Math.min(1, Math.max(0.3, durationSeconds / 5)),
    rounds: Math.max(1, Math.min(3, Math.floor(durationSeconds))),
    fixedRates: rateList(env),
    rateConnections: 8,
    throughputConnections: 32,
    throughputWarmupRequests: Math.round(positive(env, 'BENCH_WARMUP_REQUESTS', 60_000, true)),
    throughputWarmupMaxSeconds: 15,
    pluginRate: 200,
    pluginConnections: 1,
    pluginRounds: Math.max(1, Math.min(5, Math.floor(durationSeconds))),
    streamChunks: Math.round(positive(env, 'BENCH_CHUNKS', 50)),
    chunkDelayMs: positive(env, 'BENCH_CHUNK_DELAY_MS', 0, true),
    streamConcurrencies: concurrencyList(env),
    streamRequests: Math.max(40, Math.round(300 * scale)),
    streamWarmupRequests: Math.max(16, Math.round(48 * scale)),
    idleStreams: Math.round(positive(env, 'BENCH_IDLE_STREAMS', 1000)),
    idleHoldSeconds: Math.max(2, Math.min(5, durationSeconds)),
    stackRate: 500,
  }
}
