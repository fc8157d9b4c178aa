// Who is calling: set by the auth plugin in onRequest, read by the plugins that enforce per-caller
// rules (model access, rate and token limits, budgets) and that account per caller (spend, metrics).

export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'total'

export interface Principal {
  /** master: the master key; virtual: a key from the key store; anonymous: no auth configured. */
  kind: 'master' | 'virtual' | 'anonymous'
  /** Stable id for limits, spend and labels: the key's id, 'master' or 'anonymous'. Never a secret. */
  id: string
  name: string
  /** Globs over public model names (and `<provider>/<model>`); absent: every model. */
  models?: string[]
  rpm?: number
  tpm?: number
  max_parallel?: number
  budget?: { amount_usd: number; period: BudgetPeriod }
  metadata?: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

export const masterPrincipal: Principal = Object.freeze({ kind: 'master', id: 'master', name: 'master' })
export const anonymousPrincipal: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  name: 'anonymous',
})
