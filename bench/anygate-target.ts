// AnyGate as deployed, apart from logging: the default config, openai-type providers pointing at the
// fake upstream and one public model for them. Logging is silenced so the bench measures the
// request path rather than stdout; pino is still built, as in production.
import type { AddressInfo } from 'node:net'
import { buildApp } from '../app.js'
import { parseConfig } from '../config/load.js'
import { benchModel, upstreamModel } from './chat-payloads.js'
import type { RunningServer } from './running-server.js'

export interface AnyGateOptions {
  upstreamOrigin: string
  /**
   * Targets of the public model (default 1). Each is a provider of its own (bench-1, bench-2, ...)
   * with its own connection pool, all pointing at the same fake upstream, weighted n, n-1, ..., 1:
   * the router's whole path runs (weighted pick over several targets, a breaker per target) while
   * the upstream's answer stays the one the single-target figures were measured with.
   */
  targets?: number
}

function groupOf(upstreamOrigin: string, count: number) {
  const base_url = `${upstreamOrigin}/v1`
  if (count === 1) {
    return {
      providers: { bench: { type: 'openai', base_url } },
      targets: [{ provider: 'bench', model: upstreamModel }],
    }
  }
  const names = Array.from({ length: count }, (_, i) => `bench-${i + 1}`)
  return {
    providers: Object.fromEntries(names.map((name) => [name, { type: 'openai', base_url }])),
    targets: names.map((provider, i) => ({ provider, model: upstreamModel, weight: count - i })),
  }
}

export function benchConfig(upstreamOrigin: string, targetCount = 1) {
  const { providers, targets } = groupOf(upstreamOrigin, targetCount)
  // An empty env keeps the caller's ANYGATE_*/LOG_LEVEL variables out of the measurement.
  return parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, log_level: 'silent' },
      providers,
      models: [{ name: benchModel, strategy: 'weighted', targets }],
    },
    {},
    process.cwd(),
  )
}

export async function startAnyGate(options: AnyGateOptions): Promise<RunningServer> {
  const config = benchConfig(options.upstreamOrigin, options.targets)
  const app = await buildApp(config, { logger: { level: 'silent' } })
  await app.listen({ host: config.server.host, port: config.server.port })
  const { port } = app.server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
}
