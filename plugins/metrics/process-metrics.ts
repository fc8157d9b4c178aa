// Process metrics (CPU, memory, event loop lag, GC) describe the process, not one app: prom-client
// starts an event-loop monitor and a GC observer for each registry it collects them into, and never
// stops them. So one registry per process holds them, and each app merges it into its own output.
import { collectDefaultMetrics, Registry } from 'prom-client'

let shared: Registry | undefined

export function processMetricsRegistry(): Registry {
  if (!shared) {
    shared = new Registry()
    collectDefaultMetrics({ register: shared })
  }
  return shared
}
