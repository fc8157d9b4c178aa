// One place turns every failure (validation, body parsing, auth, upstream, bugs) into the OpenAI
// error shape. Handlers only throw; nothing else writes an error body.
import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { anthropicErrorType } from './anthropic-error-type.js'
import { ClientAbortError, GatewayError } from './gateway-error.js'
import { validationMessage } from './validation-message.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * 'anthropic' adds `"type": "error"` at the top: the body is then both OpenAI's error shape and
     * Anthropic's (`{"type": "error", "error": {"type", "message"}}`), for Anthropic clients.
     */
    errorFormat?: 'openai' | 'anthropic'
  }
}

function fromFastifyError(error: FastifyError, bodyLimit: number): GatewayError {
  if (error.validation) {
    const { message, param } = validationMessage(error.validation, error.validationContext ?? 'body')
    return new GatewayError(400, message, 'invalid_request_error', 'invalid_value', param)
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError(
        413,
        `Request body is larger than the ${bodyLimit} bytes this gateway accepts (server.body_limit_bytes).`,
        'invalid_request_error',
        'request_too_large',
      )
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(
        415,
        'Unsupported Content-Type: send the body as application/json.',
        'invalid_request_error',
        'unsupported_media_type',
      )
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError(
        400,
        'The request body is empty; send a JSON object.',
        'invalid_request_error',
        'invalid_json',
      )
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new GatewayError(
      400,
      `We could not parse the JSON body of your request (${error.message}). Send valid JSON with Content-Type: application/json.`,
      'invalid_request_error',
      'invalid_json',
    )
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return new GatewayError(status, error.message, 'invalid_request_error', error.code ?? null)
  }
  return new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error')
}

/** Describing an error must never fail itself: a throw here would leave the client an empty 500. */
function describeSafely(error: FastifyError, bodyLimit: number): GatewayError {
  try {
    return fromFastifyError(error, bodyLimit)
  } catch {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    return status === 500
      ? new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error')
      : new GatewayError(status, 'The request is not valid.', 'invalid_request_error', 'invalid_value')
  }
}

async function errorHandler(app: FastifyInstance, opts: { bodyLimit: number }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ClientAbortError) {
      // The client hung up: not the gateway's failure. 499 (nginx's "client closed request") is what
      // the log line shows; the socket is gone, so nothing is actually written.
      request.log.debug('client closed the request before the answer')
      if (!reply.sent) reply.code(499).send(new GatewayError(499, error.message, 'client_closed').toBody())
      return
    }
    const gatewayError = error instanceof GatewayError ? error : describeSafely(error, opts.bodyLimit)
    if (gatewayError.statusCode >= 500 && !(error instanceof GatewayError)) {
      request.log.error({ err: error }, 'unhandled error')
    } else {
      request.log.debug({ status: gatewayError.statusCode, code: gatewayError.code }, gatewayError.message)
    }
    if (reply.sent || reply.raw.headersSent) return
    const body = gatewayError.toBody()
    if (request.routeOptions.config?.errorFormat === 'anthropic') {
      // Anthropic clients read error.type (retry decisions); the OpenAI fields stay alongside.
      body.error.type = anthropicErrorType(gatewayError.statusCode)
      return reply
        .code(gatewayError.statusCode)
        .headers(gatewayError.headers)
        .send({ type: 'error', ...body })
    }
    reply.code(gatewayError.statusCode).headers(gatewayError.headers).send(body)
  })

  app.setNotFoundHandler((request, reply) => {
    const error = new GatewayError(
      404,
      `Invalid URL (${request.method} ${request.url.split('?')[0]}). See GET /docs for the routes.`,
      'invalid_request_error',
      'unknown_url',
    )
    reply.code(404).send(error.toBody())
  })
}

export default fp(errorHandler, { name: 'anygate-error-handler', fastify: '5.x' })
