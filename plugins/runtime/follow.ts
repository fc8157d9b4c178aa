// For plugins registered before the runtime that index something of the config (the cache's
// per-model policies, spend's target prices): a value rebuilt from the current runtime the first
// time it is read after a swap, so a reload reaches them without a subscription of their own.
import type { FastifyInstance } from 'fastify'
import type { Runtime } from './runtime.js'

export function followRuntime<T>(app: FastifyInstance, build: (runtime: Runtime) => T): () => T {
  let seen: Runtime | undefined
  let value: T
  return () => {
    const runtime = app.runtime.current
    if (runtime !== seen) {
      value = build(runtime)
      seen = runtime
    }
    return value
  }
}
