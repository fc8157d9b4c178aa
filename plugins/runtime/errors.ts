// The reload's refusals, in the OpenAI error shape. Each keeps the running config, and says so.
import { GatewayError } from '../gateway-error.js'

/** The file is invalid: every problem by its dotted path, one per line, as the CLI prints them. */
export function configRefused(path: string, problems: readonly string[]): GatewayError {
  return new GatewayError(
    422,
    `The config file ${path} is invalid; the running config is kept. Fix every problem and reload again:\n` +
      problems.map((p) => `  - ${p}`).join('\n'),
    'invalid_request_error',
    'invalid_config',
  )
}

/** The file is valid but its providers could not be built (a plugin that fails to load, say). */
export function runtimeBuildFailed(path: string, cause: string): GatewayError {
  return new GatewayError(
    422,
    `The config file ${path} is valid, but its providers could not be started (${cause}); the running config is kept.`,
    'invalid_request_error',
    'reload_failed',
  )
}

export function reloadUnavailable(): GatewayError {
  return new GatewayError(
    409,
    'This gateway was started without a config file (built from an in-memory config), so there is nothing to reload.',
    'invalid_request_error',
    'reload_unavailable',
  )
}

export function unknownProvider(name: string, known: readonly string[]): GatewayError {
  return new GatewayError(
    404,
    `No provider named "${name}" in the config (configured: ${known.join(', ') || 'none'}). GET /admin/providers lists them.`,
    'not_found_error',
    'provider_not_found',
    'name',
  )
}

/** The abort of a call still running on a runtime closed at the end of its drain. */
export function cutByReload(drainMs: number): GatewayError {
  return new GatewayError(
    503,
    `The gateway reloaded its config and this call was still running on the previous one after server.shutdown_timeout_ms (${drainMs} ms); retry it.`,
    'service_unavailable',
    'reload_drain_timeout',
  )
}
