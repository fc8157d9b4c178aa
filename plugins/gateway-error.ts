// The error catalogue: every failure the gateway reports is a GatewayError, rendered by one handler
// in the OpenAI error shape. Messages name the field, model or provider and say what to do next.
import type { ErrorResponse } from '../schemas/openai/errors.js'

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable'

export class GatewayError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly type: ErrorType | string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'GatewayError'
  }

  toBody(): ErrorResponse {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new GatewayError(400, message, 'invalid_request_error', code, param)

export const unauthorized = (message: string) =>
  new GatewayError(401, message, 'invalid_request_error', 'invalid_api_key')

export const modelNotFound = (model: string) =>
  new GatewayError(
    404,
    `The model \`${model}\` does not exist on this gateway. GET /v1/models lists the public models; ` +
      '`<provider>/<upstream model>` reaches a configured provider directly.',
    'invalid_request_error',
    'model_not_found',
    'model',
  )

export const unsupported = (provider: string, feature: string, param: string | null = null) =>
  new GatewayError(
    400,
    `Provider "${provider}" does not support ${feature}.`,
    'invalid_request_error',
    'unsupported_feature',
    param,
  )

export const upstreamTimeout = (provider: string, phase: string) =>
  new GatewayError(
    504,
    `Provider "${provider}" did not answer in time (${phase} timeout). Try again, or raise providers.${provider}.timeouts.`,
    'timeout_error',
    'upstream_timeout',
  )

export const upstreamUnreachable = (provider: string, cause: string) =>
  new GatewayError(
    502,
    `Provider "${provider}" could not be reached (${cause}).`,
    'upstream_error',
    'upstream_unreachable',
  )

export const upstreamBadResponse = (provider: string, what: string) =>
  new GatewayError(
    502,
    `Provider "${provider}" sent an invalid response: ${what}.`,
    'upstream_error',
    'upstream_bad_response',
  )

export const draining = () =>
  new GatewayError(
    503,
    'The gateway is shutting down; retry on another instance.',
    'service_unavailable',
    'draining',
  )

/** Thrown when our own client went away; nothing is sent back, the upstream call is abandoned. */
export class ClientAbortError extends Error {
  constructor() {
    super('client closed the request')
    this.name = 'ClientAbortError'
  }
}
