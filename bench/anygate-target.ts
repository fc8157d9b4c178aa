// AnyGate as deployed, apart from logging: the default config, one openai-type provider pointing at
// the fake upstream and one public model for it. Logging is silenced so the bench measures the
// request path rather than stdout; pino is still built, as in production.
import type { AddressInfo } from 'node:net'
import { buildApp } from '../app.js'
import { parseConfig } from '../config/load.js'
import { benchModel, upstreamModel } from './chat-payloads.js'
import type { RunningServer } from './running-server.js'

export interface AnyGateOptions {
  upstreamOrigin: string
}

export function benchConfig(upstreamOrigin: string) {
  // An empty env keeps the caller's ANYGATE_*/LOG_LEVEL variables out of the measurement.
  return parseConfig(
    {
      server: { host: '127.0.0.1', port: 0, log_level: 'silent' },
      providers: { bench: { type: 'openai', base_url: `${upstreamOrigin}/v1` } },
      models: [{ name: benchModel, targets: [{ provider: 'bench', model: upstreamModel }] }],
    },
    {},
    process.cwd(),
  )
}

export async function startAnyGate(options: AnyGateOptions): Promise<RunningServer> {
  const config = benchConfig(options.upstreamOrigin)
  const app = await buildApp(config, { logger: { level: 'silent' } })
  await app.listen({ host: config.server.host, port: config.server.port })
  const { port } = app.server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
}
