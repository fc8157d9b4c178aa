// The errors the router itself raises when no target of a public model can take a request.
import { GatewayError } from '../gateway-error.js'
import type { SkippedTarget, SkipReason } from './eligibility.js'

const reasonWords: Record<SkipReason, string> = {
  capability_missing: 'lacking a capability',
  provider_disabled: 'provider disabled by an operator',
  circuit_open: 'circuit open',
  max_concurrency: 'at max_concurrency',
  max_rpm: 'at max_rpm',
}

/**
 * Every target was skipped. Missing capabilities everywhere is the client's request (400, like
 * assertCapabilities); anything else is temporary (503, with Retry-After when the breakers know).
 */
export function noUsableTarget(
  model: string,
  skipped: readonly SkippedTarget[],
  retryAfterMs?: number,
): GatewayError {
  if (skipped.length > 0 && skipped.every((s) => s.reason === 'capability_missing')) {
    const missing = [...new Set(skipped.flatMap((s) => s.missing ?? []))]
    return new GatewayError(
      400,
      `No target of the model \`${model}\` supports ${missing.map((m) => m.replace('_', ' ')).join(', ')}; ` +
        'choose a model that does, or change the request.',
      'invalid_request_error',
      'unsupported_capability',
    )
  }
  const seconds = retryAfterMs !== undefined && retryAfterMs > 0 ? Math.ceil(retryAfterMs / 1000) : undefined
  // Every target at its max_rpm: the gateway is pacing calls for the provider accounts, which is a
  // rate limit to the client (429: the OpenAI SDKs back off and retry it), not an outage.
  if (skipped.length > 0 && skipped.every((s) => s.reason === 'max_rpm')) {
    return new GatewayError(
      429,
      `Every target of the model \`${model}\` is at its max_rpm; ` +
        (seconds !== undefined ? `retry in ${seconds} s.` : 'retry shortly.'),
      'rate_limit_error',
      'target_rate_limited',
      'model',
      seconds !== undefined ? { 'retry-after': String(seconds) } : {},
    )
  }
  const counts = new Map<SkipReason, number>()
  for (const { reason } of skipped) counts.set(reason, (counts.get(reason) ?? 0) + 1)
  const why = [...counts].map(([reason, n]) => `${n} ${reasonWords[reason]}`).join(', ')
  return new GatewayError(
    503,
    `Every target of the model \`${model}\` is unavailable (${why}); ` +
      (seconds !== undefined ? `retry in ${seconds} s.` : 'retry shortly.'),
    'service_unavailable',
    'no_target_available',
    'model',
    seconds !== undefined ? { 'retry-after': String(seconds) } : {},
  )
}
