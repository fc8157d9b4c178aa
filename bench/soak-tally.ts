// The soak's running counts: requests by kind and outcome, the faults the client planned, and the
// first problems seen, kept whole so a failed run says what went wrong. Pure.
import type { Outcome } from './soak-checks.js'
import { type RequestKind, type RequestPlan, requestKinds } from './soak-plan.js'

export interface KindTally {
  sent: number
  ok: number
  /** Faulted calls that ended in a clean error, as their plan allowed. */
  expectedErrors: number
  /** Streams the client walked away from, as planned. */
  aborted: number
  unexpected: number
  cacheHits: number
}

export interface CallResult {
  outcome: Outcome
  problem?: string
  /** x-anygate-cache of the response, when it had one. */
  cache?: string
  /** The error code of a clean error, e.g. `502 upstream_unreachable` or `stream upstream_timeout`. */
  errorCode?: string
}

export interface SoakTally {
  byKind: Record<RequestKind, KindTally>
  /** Faulted requests sent, by `<type> <at>/<attempts>`. */
  faultsPlanned: Record<string, number>
  /** Clean errors seen, by code. */
  errorCodes: Record<string, number>
  /** The first problems, with the request they came from. */
  problems: string[]
  /** Requests not sent because the gateway already had the most the soak allows in flight. */
  skipped: number
}

export const keptProblems = 20

const emptyKind = (): KindTally => ({
  sent: 0,
  ok: 0,
  expectedErrors: 0,
  aborted: 0,
  unexpected: 0,
  cacheHits: 0,
})

export function newTally(): SoakTally {
  return {
    byKind: Object.fromEntries(requestKinds.map((kind) => [kind, emptyKind()])) as Record<
      RequestKind,
      KindTally
    >,
    faultsPlanned: {},
    errorCodes: {},
    problems: [],
    skipped: 0,
  }
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

export function recordSent(tally: SoakTally, plan: RequestPlan): void {
  tally.byKind[plan.kind].sent++
  if (plan.fault) bump(tally.faultsPlanned, `${plan.fault.type} ${plan.fault.at}/${plan.fault.attempts}`)
}

export function recordResult(tally: SoakTally, plan: RequestPlan, result: CallResult): void {
  const counts = tally.byKind[plan.kind]
  if (result.cache === 'HIT') counts.cacheHits++
  switch (result.outcome) {
    case 'ok':
      counts.ok++
      return
    case 'expected-error':
      counts.expectedErrors++
      if (result.errorCode) bump(tally.errorCodes, result.errorCode)
      return
    case 'aborted':
      counts.aborted++
      return
    case 'unexpected': {
      counts.unexpected++
      if (tally.problems.length < keptProblems) {
        const fault = plan.fault ? `, fault ${plan.fault.type} ${plan.fault.at}/${plan.fault.attempts}` : ''
        tally.problems.push(`#${plan.seq} ${plan.kind}${fault}: ${result.problem ?? 'unexpected outcome'}`)
      }
    }
  }
}

export const totalOf = (tally: SoakTally, field: keyof KindTally) =>
  requestKinds.reduce((sum, kind) => sum + tally.byKind[kind][field], 0)

/** Requests sent whose outcome is not in yet. */
export const pendingOf = (tally: SoakTally) =>
  totalOf(tally, 'sent') -
  totalOf(tally, 'ok') -
  totalOf(tally, 'expectedErrors') -
  totalOf(tally, 'aborted') -
  totalOf(tally, 'unexpected')
