// The readiness rule behind GET /health/ready: ready while every served public model has at least one
// target its breaker would admit a call to now. "Served" means at least one of its providers is
// enabled; a model whose providers are all disabled answers 404 anyway and is no reason to pull the
// replica out of a load balancer.
import type { PublicModel } from '../../config/schema.js'
import { targetId } from './types.js'

/** A public model with the targets whose provider is live. */
export interface ServedModel {
  name: string
  targetIds: string[]
}

export function servedModels(
  models: readonly PublicModel[],
  isLive: (provider: string) => boolean,
): ServedModel[] {
  return models.flatMap((model) => {
    const ids = model.targets.filter((t) => isLive(t.provider)).map((t) => targetId(t.provider, t.model))
    return ids.length > 0 ? [{ name: model.name, targetIds: [...new Set(ids)] }] : []
  })
}

/**
 * The served models none of whose targets is usable, in config order. Usable is what the router
 * itself checks before a call (`breaker.isOpen` false): closed, or half-open with the trial free. A
 * target shared by several models is asked once.
 */
export async function unavailableModels(
  served: readonly ServedModel[],
  isOpen: (targetId: string) => Promise<boolean>,
): Promise<string[]> {
  const answers = new Map<string, Promise<boolean>>()
  const openOnce = (id: string) => {
    let answer = answers.get(id)
    if (!answer) {
      answer = isOpen(id)
      answers.set(id, answer)
    }
    return answer
  }
  const verdicts = await Promise.all(
    served.map(async (model) => (await Promise.all(model.targetIds.map(openOnce))).every(Boolean)),
  )
  return served.filter((_, i) => verdicts[i]).map((model) => model.name)
}
