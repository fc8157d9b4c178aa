// AnyGate as deployed, apart from logging: openai-type providers pointing at the fake upstream, one
// public model for them, and the plugins its variant turns on (bench/anygate-variants.ts). Logging
// is silenced so the bench measures the request path rather than stdout; pino is still built, as
// in production.
import type { AddressInfo } from 'node:net'
import { buildApp } from '../app.js'
import { parseConfig } from '../config/load.js'
import {
  type AnyGateVariant,
  type RedisPlace,
  type VariantSecrets,
  variantDocument,
} from './anygate-variants.js'
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
  /** Upstream sockets per provider (default: the config default, 256); see scenario f. */
  upstreamConnections?: number
  /** Which plugins run (default: the default config). */
  variant?: AnyGateVariant
  /** stack-redis only. */
  redis?: RedisPlace
}

/** The environment variables a forked stack variant reads its keys from: never argv, which ps shows. */
export const secretEnvNames = {
  masterKey: 'ANYGATE_BENCH_MASTER_KEY',
  clientKey: 'ANYGATE_BENCH_CLIENT_KEY',
} as const satisfies Record<keyof VariantSecrets, string>

function secretsFromEnv(env: NodeJS.ProcessEnv): VariantSecrets | undefined {
  const masterKey = env[secretEnvNames.masterKey]
  const clientKey = env[secretEnvNames.clientKey]
  return masterKey && clientKey ? { masterKey, clientKey } : undefined
}

export function benchConfig(options: AnyGateOptions, secrets?: VariantSecrets) {
  const document = variantDocument({
    variant: options.variant ?? 'default',
    upstreamOrigin: options.upstreamOrigin,
    targets: options.targets,
    upstreamConnections: options.upstreamConnections,
    secrets,
    redis: options.redis,
  })
  // An empty env keeps the caller's ANYGATE_*/LOG_LEVEL variables out of the measurement.
  return parseConfig(document, {}, process.cwd())
}

export async function startAnyGate(options: AnyGateOptions): Promise<RunningServer> {
  const config = benchConfig(options, secretsFromEnv(process.env))
  const app = await buildApp(config, { logger: { level: 'silent' } })
  await app.listen({ host: config.server.host, port: config.server.port })
  const { port } = app.server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
}
