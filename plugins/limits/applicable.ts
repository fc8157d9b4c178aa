// Which limits can apply at all (decided once, at registration: no hooks when none can) and which
// apply to a request.
import type { Config } from '../../config/schema.js'
import type { LimitsSettings, ModelLimits } from './config-schema.js'

/** Whether any caller can be a key with limits: a master key (keys made through /admin) or config keys. */
export function keysMayExist(auth: Config['auth']): boolean {
  return Boolean(auth.master_key) || auth.keys.length > 0
}

export function modelLimitsTable(settings: LimitsSettings, pick: keyof ModelLimits): Map<string, number> {
  const table = new Map<string, number>()
  for (const [model, limits] of Object.entries(settings.models)) {
    const limit = limits[pick]
    if (limit !== undefined) table.set(model, limit)
  }
  return table
}

/** The model a request names (body.model, validated by the route's schema before preHandler). */
export function requestedModel(body: unknown): string | undefined {
  const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined
  return typeof model === 'string' ? model : undefined
}
