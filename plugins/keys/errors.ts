// The errors of authentication, model access and key administration. Messages name the key (its
// name or id, never its secret) and what to do next.
import { GatewayError, unauthorized } from '../gateway-error.js'

export const missingKey = () =>
  unauthorized(
    "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or the x-api-key header).",
  )

export const unknownKey = () =>
  unauthorized('Incorrect API key provided. Use the gateway key your operator gave you.')

export const expiredKey = (name: string, expiresAt: string) =>
  new GatewayError(
    401,
    `The API key "${name}" expired at ${expiresAt}. Ask your operator for a new key or a later expires_at.`,
    'invalid_request_error',
    'expired_api_key',
  )

export const disabledKey = (name: string) =>
  new GatewayError(
    401,
    `The API key "${name}" is disabled. Ask your operator to enable it again.`,
    'invalid_request_error',
    'disabled_api_key',
  )

export const adminOnly = () =>
  new GatewayError(
    403,
    'The admin API needs the master key (auth.master_key); virtual keys may only call /v1.',
    'permission_error',
    'admin_only',
  )

export const adminDisabled = () =>
  new GatewayError(
    403,
    'The admin API is off: set auth.master_key in the gateway config and send it as a Bearer token.',
    'permission_error',
    'admin_disabled',
  )

export const modelNotAllowed = (model: string, keyName: string) =>
  new GatewayError(
    403,
    `The API key "${keyName}" may not use the model \`${model}\`. GET /v1/models lists the models it may use.`,
    'permission_error',
    'model_not_allowed',
    'model',
  )

export const storeUnavailable = () =>
  new GatewayError(
    503,
    'Virtual keys cannot be checked right now: the state store (Redis) is unreachable. Retry shortly; the master key still works.',
    'service_unavailable',
    'store_unavailable',
    null,
    { 'retry-after': '1' },
  )

export const keyNotFound = (id: string) =>
  new GatewayError(
    404,
    `No key with id "${id}". GET /admin/keys lists the keys.`,
    'invalid_request_error',
    'key_not_found',
    'id',
  )

export const configKeyReadOnly = (id: string) =>
  new GatewayError(
    409,
    `The key "${id}" is declared in the config file (auth.keys): change or remove it there and restart the gateway.`,
    'invalid_request_error',
    'config_key_read_only',
    'id',
  )

export const keyConflict = (what: string) =>
  new GatewayError(409, `${what} Retry the request.`, 'invalid_request_error', 'key_conflict')
