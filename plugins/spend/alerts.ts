// Budget alerts: a POST to `budgets.alert_webhook` the first time a key's spend in a period reaches
// each threshold. "First" is decided by the budget store (SET NX on Redis), so replicas sharing it
// send each alert once between them. Alerts never hold a request up: they go into a bounded queue
// that one sender drains in the background, retrying with backoff; an alert that can't be queued
// or delivered is logged (without the webhook's headers, which may carry a secret).
import { setTimeout as sleep } from 'node:timers/promises'
import type { BudgetPeriod } from '../principal.js'
import type { BudgetStore } from './budget-store.js'
import { nanosToUsd } from './money.js'
import { dayMs } from './periods.js'
import { type BackgroundLogger, errorText } from './retry.js'

/** The JSON body of an alert. */
export interface BudgetAlert {
  key_id: string
  key_name: string
  period: BudgetPeriod
  spent_usd: number
  budget_usd: number
  threshold: number
  /** When the period ends (ISO 8601); null for a total budget. */
  resets_at: string | null
}

/** What the notifier needs to know of a key's budget in its current period. */
export interface AlertScope {
  scope: string
  keyId: string
  keyName: string
  period: BudgetPeriod
  limitNanos: number
  resetsAt: number | null
}

export interface AlertNotifierOptions {
  url: string
  headers: Record<string, string>
  thresholds: readonly number[]
  store: Pick<BudgetStore, 'claimAlert'>
  log: BackgroundLogger
  queueLimit?: number
  retryDelaysMs?: readonly number[]
  timeoutMs?: number
}

/** Alerts this process already claimed or saw claimed, so a key past 80% doesn't ask Redis each call. */
const knownLimit = 10_000

export class AlertNotifier {
  readonly #options: AlertNotifierOptions
  readonly #thresholds: number[]
  readonly #queue: BudgetAlert[] = []
  readonly #known = new Set<string>()
  readonly #stop = new AbortController()
  readonly #queueLimit: number
  readonly #retryDelaysMs: readonly number[]
  readonly #claims = new Set<Promise<void>>()
  #draining: Promise<void> | null = null

  constructor(options: AlertNotifierOptions) {
    this.#options = options
    this.#thresholds = [...new Set(options.thresholds)].sort((a, b) => a - b)
    this.#queueLimit = options.queueLimit ?? 100
    this.#retryDelaysMs = options.retryDelaysMs ?? [1000, 5000, 30_000, 120_000]
  }

  /** Called with a scope's spend after each settlement; never throws, never waits. */
  check(scope: AlertScope, spentNanos: number): void {
    for (const threshold of this.#thresholds) {
      if (spentNanos < threshold * scope.limitNanos) break
      const id = `${scope.scope}:${threshold}`
      if (this.#known.has(id)) continue
      if (this.#known.size >= knownLimit) this.#known.clear()
      this.#known.add(id)
      const claim = this.#claimAndQueue(scope, threshold, spentNanos, id)
      this.#claims.add(claim)
      void claim.finally(() => this.#claims.delete(claim))
    }
  }

  /** Every alert queued so far delivered or given up; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#claims.size > 0 || this.#draining) {
      await Promise.allSettled([...this.#claims])
      if (this.#draining) await this.#draining
    }
  }

  /** Stops retrying; alerts still queued are logged as undelivered. */
  async close(): Promise<void> {
    this.#stop.abort()
    await this.idle()
  }

  async #claimAndQueue(scope: AlertScope, threshold: number, spentNanos: number, id: string) {
    // The claim lasts until the period is over (a day longer, for replicas with skewed clocks).
    const claimUntil = scope.resetsAt === null ? null : scope.resetsAt + dayMs
    let claimed: boolean
    try {
      claimed = await this.#options.store.claimAlert(scope.scope, threshold, claimUntil)
    } catch (err) {
      // Not knowing whether another replica sent it: try again on the key's next call.
      this.#known.delete(id)
      this.#options.log.warn(
        { err: errorText(err), key_id: scope.keyId, threshold },
        'budget alert not claimed',
      )
      return
    }
    if (!claimed) return
    const alert: BudgetAlert = {
      key_id: scope.keyId,
      key_name: scope.keyName,
      period: scope.period,
      spent_usd: nanosToUsd(spentNanos),
      budget_usd: nanosToUsd(scope.limitNanos),
      threshold,
      resets_at: scope.resetsAt === null ? null : new Date(scope.resetsAt).toISOString(),
    }
    if (this.#queue.length >= this.#queueLimit) {
      this.#options.log.error({ alert }, 'budget alert dropped: the alert queue is full')
      return
    }
    this.#queue.push(alert)
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null
    })
  }

  async #drain(): Promise<void> {
    for (let alert = this.#queue.shift(); alert; alert = this.#queue.shift()) {
      if (this.#stop.signal.aborted) {
        this.#options.log.error({ alert }, 'budget alert not sent: the gateway is shutting down')
        continue
      }
      await this.#deliver(alert)
    }
  }

  async #deliver(alert: BudgetAlert): Promise<void> {
    const body = JSON.stringify(alert)
    for (let attempt = 0; ; attempt++) {
      let failure: string
      try {
        // Node's own fetch, not undici's index: loading that index (1.1 MB of source, see
        // upstream-client.ts) also made undici's Agent the process-wide dispatcher of fetch.
        const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 10_000)
        const response = await fetch(this.#options.url, {
          method: 'POST',
          headers: { ...this.#options.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.#stop.signal, timeout]),
        })
        // Read to the end, so the connection can be reused.
        await response.arrayBuffer()
        if (response.status < 300) return
        failure = `the webhook answered ${response.status}`
      } catch (err) {
        failure = errorText(err)
      }
      const delay = this.#retryDelaysMs[attempt]
      if (delay === undefined || this.#stop.signal.aborted) {
        this.#options.log.error({ alert, attempts: attempt + 1, err: failure }, 'budget alert not delivered')
        return
      }
      try {
        await sleep(delay, undefined, { signal: this.#stop.signal })
      } catch {
        this.#options.log.error({ alert, attempts: attempt + 1, err: failure }, 'budget alert not delivered')
        return
      }
    }
  }
}
