// What GET /admin/providers shows of each configured provider: its switches and its targets' live
// state, read from the current runtime.
import type { ProviderState } from '../../schemas/admin/providers.js'
import { targetId } from '../router/types.js'
import type { RuntimeHolder } from './holder.js'
import { redactConfig } from './redact.js'

export async function describeProvider(holder: RuntimeHolder, name: string): Promise<ProviderState> {
  const runtime = holder.current
  const { toggles } = holder
  const provider = holder.config.providers.find((p) => p.name === name)!
  const enabled = toggles.enabled(name)
  const adapter = runtime.providers.get(name)
  const { breaker, stats } = runtime.routerState
  const targets = await Promise.all(
    runtime.config.models.flatMap((model) =>
      model.targets
        .filter((target) => target.provider === name)
        .map(async (target) => {
          const id = targetId(target.provider, target.model)
          const circuit = (await breaker.snapshot(id)).state
          return {
            id,
            model: model.name,
            upstream_model: target.model,
            circuit,
            inflight: stats.inFlight(id),
            healthy: enabled && adapter !== undefined && circuit === 'closed',
          }
        }),
    ),
  )
  return {
    name,
    type: adapter?.type ?? provider.type ?? 'plugin',
    enabled,
    configured_enabled: toggles.configured(name) === true,
    runtime_override: toggles.override(name),
    // A URL may carry a user and password, or a key in its query.
    base_url: provider.base_url === undefined ? null : redactConfig({ base_url: provider.base_url }).base_url,
    targets,
  }
}

export function describeProviders(holder: RuntimeHolder): Promise<ProviderState[]> {
  return Promise.all(holder.config.providers.map((p) => describeProvider(holder, p.name)))
}
