// Cross-field checks the schema cannot express, in the config loader's `path: problem` style, for
// config/load.ts to append to its own list so every problem is reported at once.
import { describeFallbackCycle, type FallbackModelConfig, findFallbackCycles } from './fallback-chain.js'
import { targetId } from './types.js'

export interface RoutedModelConfig extends FallbackModelConfig {
  targets: readonly { provider: string; model: string; weight: number }[]
}

export function findRoutingProblems(models: readonly RoutedModelConfig[]): string[] {
  const problems: string[] = []
  const names = new Set(models.map((model) => model.name))
  models.forEach((model, i) => {
    if (model.targets.length > 0 && model.targets.every((t) => !(t.weight > 0))) {
      problems.push(`models[${i}].targets: total weight is 0; give at least one target a weight above 0`)
    }
    const seen = new Set<string>()
    model.targets.forEach((target, j) => {
      const id = targetId(target.provider, target.model)
      if (seen.has(id)) problems.push(`models[${i}].targets[${j}]: ${id} is listed twice; merge the entries`)
      seen.add(id)
    })
    // `fallbacks` names are already checked by config/load.ts.
    for (const field of ['context_window_fallbacks', 'content_policy_fallbacks'] as const) {
      model[field]?.forEach((name, j) => {
        if (!names.has(name)) problems.push(`models[${i}].${field}[${j}]: no model named "${name}" in models`)
      })
    }
  })
  return problems.concat(findFallbackCycles(models).map(describeFallbackCycle))
}
