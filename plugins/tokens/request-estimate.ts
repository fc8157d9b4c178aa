// One token estimate per request, shared by the token limits, the budget check and lowest-cost
// routing: tokenizing is the costliest step on the per-call path, so it runs once per request.
import type { FastifyRequest } from 'fastify'
import type { InferenceKind } from '../call-record.js'
import type { ModelCatalog } from '../model-catalog.js'
import { routeConfigOf } from '../route-config.js'
import type { TokenMix } from '../router/strategies.js'
import { estimateTokens, type TokenEstimate } from './estimate.js'

const estimates = new WeakMap<FastifyRequest, TokenEstimate>()

/**
 * The model whose tokenizer counts a request for `model`: its first target's upstream model (a
 * public name like `svc` says nothing about the tokenizer), or the name itself when it resolves to
 * nothing (the route answers 404 for it anyway).
 */
export function tokenizerModelFor(catalog: ModelCatalog | undefined, model: string): string {
  if (!catalog) return model
  try {
    return catalog.resolveGroup(model).targets[0]?.resolved.upstreamModel ?? model
  } catch {
    return model
  }
}

/** The request's estimate, computed on first use with the tokenizer of `model`'s first target. */
export function estimateRequestTokens(request: FastifyRequest, model: string): TokenEstimate {
  let estimate = estimates.get(request)
  if (estimate === undefined) {
    const kind = routeConfigOf(request).inference as InferenceKind
    const catalog = request.server.hasDecorator('models') ? request.server.models : undefined
    estimate = estimateTokens(kind, request.body, tokenizerModelFor(catalog, model))
    estimates.set(request, estimate)
  }
  return estimate
}

/** For the router's lowest-cost strategy: prompt tokens and the answer's bound (or `unboundedOutput`). */
export function tokenMixOf(request: FastifyRequest, model: string, unboundedOutput = 256): TokenMix {
  const estimate = estimateRequestTokens(request, model)
  const embeddings = routeConfigOf(request).inference === 'embeddings'
  return { input: estimate.prompt, output: embeddings ? 0 : (estimate.maxOutput ?? unboundedOutput) }
}
