// Which models a principal may use: its `models` globs against the name the client sent. A key
// granted `openai/*` may also call a bare upstream name that resolves to openai (`gpt-4o-mini`), but
// not a public model whose targets happen to be on openai: public names are granted by name, so an
// operator can hand out `fast` without exposing what serves it. Fallbacks a granted public model
// configures are part of that model and are not checked again.
import { globToRegExp } from '../glob.js'
import type { ModelCatalog, ModelGroup } from '../model-catalog.js'
import type { Principal } from '../principal.js'

/** Compiled once per principal object; cached principals make this a WeakMap hit per request. */
const matchers = new WeakMap<Principal, RegExp>()
const matchesNothing = /(?!)/

function matcherFor(principal: Principal, models: string[]): RegExp {
  let matcher = matchers.get(principal)
  if (!matcher) {
    matcher =
      models.length === 0
        ? matchesNothing
        : new RegExp(models.map((glob) => `(?:${globToRegExp(glob).source})`).join('|'))
    matchers.set(principal, matcher)
  }
  return matcher
}

/**
 * `directName` gives the `<provider>/<model>` a bare upstream name resolves to (undefined for public
 * names and unknown models); without it only the name as sent is matched.
 */
export function allowsModel(
  principal: Principal | null,
  model: string,
  directName?: (model: string) => string | undefined,
): boolean {
  const models = principal?.models
  if (models === undefined) return true
  const matcher = matcherFor(principal!, models)
  if (matcher.test(model)) return true
  const direct = directName?.(model)
  return direct !== undefined && direct !== model && matcher.test(direct)
}

/** `<provider>/<model>` for a name that isn't a public model; undefined for public and unknown names. */
export function directNameOf(catalog: Pick<ModelCatalog, 'resolveGroup'>, model: string): string | undefined {
  let group: ModelGroup
  try {
    group = catalog.resolveGroup(model)
  } catch {
    return undefined // unknown model: the route answers its own 404
  }
  if (group.publicModel) return undefined
  const target = group.targets[0]!.resolved
  return `${target.provider.name}/${target.upstreamModel}`
}

/** Unknown names get the route's own 404 (model_not_found) rather than a 403 about access. */
export function isKnownModel(catalog: Pick<ModelCatalog, 'resolveGroup'>, model: string): boolean {
  try {
    catalog.resolveGroup(model)
    return true
  } catch {
    return false
  }
}
