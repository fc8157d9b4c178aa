// Types of dashboard-data.js for the TypeScript tests; the browser loads the .js alone.
import type { Bucket, Sample } from './prometheus.js'

export const quantiles: number[]
export type Quantiles = Record<number, number>

export interface ModelSummary {
  model: string
  requests: number
  errors: number
  promptTokens: number
  completionTokens: number
  costUsd: number
  latency: Quantiles
}

export interface Summary {
  requests: number
  errors: number
  serverErrors: number
  promptTokens: number
  completionTokens: number
  costUsd: number
  inflight: number
  latency: Quantiles
  firstToken: Quantiles
  latencyBuckets: Bucket[]
  firstTokenBuckets: Bucket[]
  models: ModelSummary[]
  targets: { id: string; circuit: 'closed' | 'half_open' | 'open' | 'unknown'; inflight: number }[]
}

export interface Window {
  rps: number
  errorsPerSecond: number
  errorRate: number
  latencyP95: number
  firstTokenP95: number
}

export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'total'

export interface KeyRecordLike {
  id: string
  name: string
  key_hint?: string
  source?: string
  disabled?: boolean
  expires_at?: string
  rpm?: number
  tpm?: number
  budget?: { amount_usd: number; period: BudgetPeriod }
}

export interface SpendRow {
  group: string
  key_name?: string
  requests: number
  prompt_tokens: number
  completion_tokens: number
  cost_usd: number
}

export interface KeyRow {
  id: string
  name: string
  hint: string | null
  source: string | null
  status: 'active' | 'disabled' | 'expired'
  rpm: number | null
  tpm: number | null
  month: Omit<SpendRow, 'group' | 'key_name'>
  budget: { period: BudgetPeriod; amountUsd: number; spentUsd: number; ratio: number } | null
}

export function summarize(samples: Sample[]): Summary
export function windowBetween(current: Summary, previous: Summary | null, seconds: number): Window | null
export function utcDay(ms: number): string
export function budgetPeriodStart(period: BudgetPeriod, nowMs: number): string
export function spendRangesFor(keys: KeyRecordLike[], nowMs: number): string[]
export function keyRows(
  keys: KeyRecordLike[],
  reports: Map<string, { data: SpendRow[] }>,
  nowMs: number,
): KeyRow[]
export function budgetLevel(ratio: number): 'ok' | 'warn' | 'over'
