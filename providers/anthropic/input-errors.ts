// The two 400s a translation raises: input Anthropic cannot take at all, and a value outside
// Anthropic's range. Both name the field (as the client wrote it), the provider and the way out.
import { GatewayError, invalidRequest } from '../../plugins/gateway-error.js'

/** `what` reads after "does not support": e.g. "input_audio content parts". */
export function unsupportedInput(provider: string, param: string, what: string): GatewayError {
  return new GatewayError(
    400,
    `Provider "${provider}" does not support ${what}; change or remove \`${param}\`, or use another model.`,
    'invalid_request_error',
    'unsupported_feature',
    param,
  )
}

/** `problem` reads after the field name: e.g. "must be between 0 and 1 (Anthropic's range); got 1.5". */
export function invalidInput(provider: string, param: string, problem: string): GatewayError {
  return invalidRequest(`Provider "${provider}": \`${param}\` ${problem}.`, param, 'invalid_value')
}
