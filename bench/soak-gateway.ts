// AnyGate as the soak runs it: two providers on the soak upstream, a public chat model over both
// with retries and a fallback model, an embeddings model, a virtual key whose limits are checked on
// every call yet never refuse at this load, the memory cache, and metrics behind the master key.
// Logs are silenced like the bench's, so stdout is not what the soak measures.
import type { AddressInfo } from 'node:net'
import { buildApp } from '../app.js'
import { parseConfig } from '../config/load.js'
import type { RunningServer } from './running-server.js'
import { soakChatModel, soakEmbedModel } from './soak-payloads.js'

export interface SoakGatewayOptions {
  upstreamOrigin: string
}

export interface SoakSecrets {
  masterKey: string
  clientKey: string
  /** Each provider's upstream key: must never show up in an answer. */
  providerKeys: [string, string]
}

/** The child reads its keys from these variables: never argv, which ps shows. */
export const soakSecretEnv = {
  masterKey: 'ANYGATE_SOAK_MASTER_KEY',
  clientKey: 'ANYGATE_SOAK_CLIENT_KEY',
  providerA: 'ANYGATE_SOAK_PROVIDER_A_KEY',
  providerB: 'ANYGATE_SOAK_PROVIDER_B_KEY',
} as const

export function secretsToEnv(secrets: SoakSecrets): Record<string, string> {
  return {
    [soakSecretEnv.masterKey]: secrets.masterKey,
    [soakSecretEnv.clientKey]: secrets.clientKey,
    [soakSecretEnv.providerA]: secrets.providerKeys[0],
    [soakSecretEnv.providerB]: secrets.providerKeys[1],
  }
}

export function secretsFromEnv(env: NodeJS.ProcessEnv): SoakSecrets {
  const value = (name: string) => {
    const found = env[name]
    if (!found) throw new Error(`the soak gateway needs ${name} in its environment`)
    return found
  }
  return {
    masterKey: value(soakSecretEnv.masterKey),
    clientKey: value(soakSecretEnv.clientKey),
    providerKeys: [value(soakSecretEnv.providerA), value(soakSecretEnv.providerB)],
  }
}

/**
 * Provider timeouts: a stall is cut after `first_byte_ms`, long enough that a healthy answer on a
 * busy 2-core machine never is.
 */
export const soakTimeouts = { connect_ms: 2000, first_byte_ms: 2000, total_ms: 30_000 }

/** Routing: a call that fails on every attempt (and its fallback) ends well within this. */
export const soakRoutingTimeoutMs = 15_000

/** The config document (what a YAML file would hold); parse it with config/load.ts's parseConfig. */
export function soakDocument(upstreamOrigin: string, secrets: SoakSecrets): Record<string, unknown> {
  const provider = (apiKey: string) => ({
    type: 'openai',
    base_url: `${upstreamOrigin}/v1`,
    api_key: apiKey,
    timeouts: soakTimeouts,
  })
  return {
    server: { host: '127.0.0.1', port: 0, log_level: 'silent', shutdown_timeout_ms: 5000 },
    auth: {
      master_key: secrets.masterKey,
      keys: [
        {
          name: 'soak-client',
          key: secrets.clientKey,
          rpm: 10_000_000,
          tpm: 1_000_000_000,
          max_parallel: 10_000,
          budget: { amount_usd: 1_000_000, period: 'total' },
        },
      ],
    },
    routing: {
      strategy: 'weighted',
      retries: 2,
      backoff_ms: { base: 50, max: 500 },
      timeout_ms: soakRoutingTimeoutMs,
      // A few faulted calls in a row must not open a breaker over the healthy traffic around them;
      // a sustained failure still would.
      circuit_breaker: {
        consecutive_failures: 10,
        error_rate: 0.5,
        window_s: 30,
        min_samples: 20,
        cooldown_s: 5,
      },
    },
    providers: { 'soak-a': provider(secrets.providerKeys[0]), 'soak-b': provider(secrets.providerKeys[1]) },
    models: [
      {
        name: soakChatModel,
        targets: [
          { provider: 'soak-a', model: 'fake-model', weight: 2 },
          { provider: 'soak-b', model: 'fake-model', weight: 1 },
        ],
        fallbacks: ['soak-backup'],
      },
      { name: 'soak-backup', targets: [{ provider: 'soak-b', model: 'fake-backup' }] },
      {
        name: soakEmbedModel,
        targets: [
          { provider: 'soak-a', model: 'fake-embed' },
          { provider: 'soak-b', model: 'fake-embed' },
        ],
      },
    ],
    limits: { global_rpm: 10_000_000, max_streams_per_key: 10_000 },
    // A price makes the budget real: every call reserves its estimate and settles the actual cost.
    pricing: { models: { 'fake-*': { input: 1, output: 2 } } },
    cache: { enabled: true, backend: 'memory', max_bytes: 8 * 1024 * 1024 },
    metrics: { enabled: true, auth: 'master' },
  }
}

export function soakConfig(upstreamOrigin: string, secrets: SoakSecrets) {
  // An empty env keeps the caller's ANYGATE_*/LOG_LEVEL variables out of the run.
  return parseConfig(soakDocument(upstreamOrigin, secrets), {}, process.cwd())
}

export async function startSoakGateway(options: SoakGatewayOptions): Promise<RunningServer> {
  const config = soakConfig(options.upstreamOrigin, secretsFromEnv(process.env))
  const app = await buildApp(config, { logger: { level: 'silent' } })
  await app.listen({ host: config.server.host, port: config.server.port })
  const { port } = app.server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
}
