// The two 400s a translation raises: input Gemini cannot take at all, and a value it cannot take as
// given. Both name the field (as the client wrote it) and the provider, so the client knows what to fix.
import { type GatewayError, invalidRequest, unsupported } from '../../plugins/gateway-error.js'

/** `what` reads after "does not support": e.g. "logprobs (Gemini has ...)". */
export function unsupportedInput(provider: string, param: string, what: string): GatewayError {
  return unsupported(provider, `${what} (\`${param}\`)`, param)
}

/** `problem` reads after the field name: e.g. "must name a tool call made earlier in messages". */
export function invalidInput(provider: string, param: string, problem: string): GatewayError {
  return invalidRequest(`Provider "${provider}": \`${param}\` ${problem}.`, param, 'invalid_value')
}
