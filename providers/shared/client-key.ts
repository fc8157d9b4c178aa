// Hybrid mode: a client may bring its own key for a provider (x-anygate-provider-key) when the
// provider's config says allow_client_key. The key replaces the configured one for that call only.
// Without the flag the call is refused rather than silently sent with the operator's key: a client
// that sends its key expects to be billed on it.
import type { ProviderConfig } from '../../config/load.js'
import { GatewayError } from '../../plugins/gateway-error.js'
import type { CallContext } from '../contract.js'

export interface ClientKeyPolicy {
  /** Headers that replace the configured key's for this call; undefined: use the configured key. */
  headersFor(ctx: CallContext): Record<string, string> | undefined
  /** Secrets to scrub from this call's upstream error messages. */
  secretsFor(ctx: CallContext): string[]
}

export const clientKeyNotAllowed = (provider: string) =>
  new GatewayError(
    400,
    `Provider "${provider}" does not take client keys: remove the x-anygate-provider-key header, or ask ` +
      `the operator to set providers.${provider}.allow_client_key: true.`,
    'invalid_request_error',
    'client_key_not_allowed',
  )

/** Header names that carry credentials (as plugins/runtime/redact.ts judges them for /admin/config). */
const credentialHeader = /auth|key|token|secret|passw|cookie|session|signature|credential|bearer/i

/**
 * The operator's secrets an upstream could echo: the api_key, and credentials put in extra headers
 * (an auth proxy in front of the provider), word by word so "Bearer <token>" loses only its token.
 */
export function configuredSecrets(config: Pick<ProviderConfig, 'api_key' | 'headers'>): string[] {
  const secrets = config.api_key ? [config.api_key] : []
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (credentialHeader.test(name)) secrets.push(...value.split(/\s+/).filter((word) => word.length >= 8))
  }
  return secrets
}

export function clientKeyPolicy(
  config: Pick<ProviderConfig, 'name' | 'api_key' | 'allow_client_key' | 'headers'>,
  authHeaders: (key: string) => Record<string, string>,
): ClientKeyPolicy {
  const configured = configuredSecrets(config)
  return {
    headersFor(ctx) {
      if (ctx.clientKey === undefined) return undefined
      if (!config.allow_client_key) throw clientKeyNotAllowed(config.name)
      return authHeaders(ctx.clientKey)
    },
    secretsFor: (ctx) => (ctx.clientKey === undefined ? configured : [...configured, ctx.clientKey]),
  }
}
