// Which public model to try next when a whole group has failed, and config checks that the lists
// cannot loop. Three lists per model, one per failure kind: `fallbacks` (the group is down),
// `context_window_fallbacks` (the prompt did not fit) and `content_policy_fallbacks` (refused).

export type FallbackKind = 'general' | 'context_window' | 'content_policy'

export const fallbackFields = {
  general: 'fallbacks',
  context_window: 'context_window_fallbacks',
  content_policy: 'content_policy_fallbacks',
} as const satisfies Record<FallbackKind, string>

export const fallbackKinds = Object.keys(fallbackFields) as FallbackKind[]

/** The slice of a public model's config this module reads. */
export interface FallbackModelConfig {
  name: string
  fallbacks?: readonly string[]
  context_window_fallbacks?: readonly string[]
  content_policy_fallbacks?: readonly string[]
}

export type FallbackIndex = ReadonlyMap<string, FallbackModelConfig>

export function indexFallbacks(models: readonly FallbackModelConfig[]): FallbackIndex {
  return new Map(models.map((model) => [model.name, model]))
}

const listOf = (index: FallbackIndex, name: string, kind: FallbackKind): readonly string[] =>
  index.get(name)?.[fallbackFields[kind]] ?? []

/**
 * Every model to try for a failure of `kind` at `start`, in order, each at most once, `start`
 * excluded. Breadth first: the requested model's own list comes before what its fallbacks fall back
 * to, because the operator wrote that list for this model. Then, say for a context overflow, a
 * fallback that overflows too hands over to its own context_window_fallbacks.
 */
export function fallbackChain(index: FallbackIndex, start: string, kind: FallbackKind): string[] {
  const seen = new Set([start])
  const chain: string[] = []
  for (let i = -1; i < chain.length; i++) {
    const from = i < 0 ? start : chain[i]!
    for (const next of listOf(index, from, kind)) {
      if (seen.has(next)) continue
      seen.add(next)
      chain.push(next)
    }
  }
  return chain
}

export interface FallbackCycle {
  /** Index in `models` of the cycle's first model (the earliest in config order). */
  index: number
  field: (typeof fallbackFields)[FallbackKind]
  /** The loop, first model repeated at the end: ['a', 'b', 'a']. */
  path: string[]
}

/**
 * Cycles inside each kind's graph (at least one per loop; fixing it reveals any other), each reported once, starting at its earliest model in config
 * order. Loops across kinds (a falls back to b, b's context fallback is a) are harmless: a request
 * never tries a model twice; a cycle inside one kind is a config mistake worth a startup error.
 */
export function findFallbackCycles(models: readonly FallbackModelConfig[]): FallbackCycle[] {
  const position = new Map(models.map((model, i) => [model.name, i]))
  const index = indexFallbacks(models)
  const cycles: FallbackCycle[] = []
  for (const kind of fallbackKinds) {
    const reported = new Set<string>()
    const done = new Set<string>()
    const stack: string[] = []
    const onStack = new Set<string>()
    const visit = (name: string) => {
      stack.push(name)
      onStack.add(name)
      for (const next of listOf(index, name, kind)) {
        if (onStack.has(next)) {
          const loop = stack.slice(stack.indexOf(next))
          const first = loop.reduce(
            (best, n, i) => (position.get(n)! < position.get(loop[best]!)! ? i : best),
            0,
          )
          const rotated = loop.slice(first).concat(loop.slice(0, first))
          const key = rotated.join('\u0000')
          if (!reported.has(key)) {
            reported.add(key)
            cycles.push({
              index: position.get(rotated[0]!)!,
              field: fallbackFields[kind],
              path: [...rotated, rotated[0]!],
            })
          }
        } else if (!done.has(next) && index.has(next)) {
          visit(next)
        }
      }
      stack.pop()
      onStack.delete(name)
      done.add(name)
    }
    for (const model of models) if (!done.has(model.name)) visit(model.name)
  }
  return cycles
}

/** `models[2].fallbacks: cycle a -> b -> a; ...` in the config loader's path style. */
export function describeFallbackCycle(cycle: FallbackCycle): string {
  return (
    `models[${cycle.index}].${cycle.field}: cycle ${cycle.path.join(' -> ')}; ` +
    'remove one of these entries so the chain ends'
  )
}
