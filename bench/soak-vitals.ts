// What a bench child reports about itself when the soak asks over IPC: memory, and event-loop lag
// since the previous ask. Read inside the child, so no route of the gateway ever exposes it.
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapCodeStatistics } from 'node:v8'

/** Event-loop delay beyond the monitor's sampling interval, in ms, over one window between asks. */
export interface LagWindow {
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Samples the monitor took: about one per `lagResolutionMs` of the window. */
  samples: number
}

export interface ProcessVitals {
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /**
   * The part of heapUsed that is bytecode and compiled code: it grows for minutes while the JIT
   * optimizes what runs hot, then levels off; a leak is the rest growing. Absent outside bench children.
   */
  codeBytes?: number
  externalBytes: number
  /** True when garbage was collected just before the figures were read. */
  gcForced: boolean
  /** Undefined on the first ask: the monitor starts then. */
  lag?: LagWindow
}

export const lagResolutionMs = 10

/**
 * The monitor's figures are timer intervals (resolution included): a loop that is never late reads
 * about `lagResolutionMs`. Subtracting it leaves the lag itself.
 */
export function lagBeyondResolution(
  histogram: Pick<IntervalHistogram, 'percentile' | 'max' | 'count'>,
  resolutionMs = lagResolutionMs,
): LagWindow {
  const late = (nanos: number) => Math.max(0, nanos / 1e6 - resolutionMs)
  return {
    p50Ms: late(histogram.percentile(50)),
    p99Ms: late(histogram.percentile(99)),
    maxMs: late(histogram.max),
    samples: histogram.count,
  }
}

type Gc = () => void

export function createVitalsProbe() {
  let histogram: IntervalHistogram | undefined
  return {
    read(gc: boolean): ProcessVitals {
      // Present only with --expose-gc; twice, so objects freed by finalizers of the first go as well.
      const collect = (globalThis as { gc?: Gc }).gc
      if (gc && collect) {
        collect()
        collect()
      }
      const memory = process.memoryUsage()
      const code = getHeapCodeStatistics()
      let lag: LagWindow | undefined
      if (histogram) {
        lag = histogram.count > 0 ? lagBeyondResolution(histogram) : undefined
        histogram.reset()
      } else {
        histogram = monitorEventLoopDelay({ resolution: lagResolutionMs })
        histogram.enable()
      }
      return {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        codeBytes: code.code_and_metadata_size + code.bytecode_and_metadata_size,
        externalBytes: memory.external,
        gcForced: gc && collect !== undefined,
        lag,
      }
    },
  }
}
