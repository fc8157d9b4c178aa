// Amounts are stored and compared as integer nano-USD (see plugins/pricing/table.ts) and shown in USD.
import { nanosPerUsd } from '../pricing/table.js'

export const usdToNanos = (usd: number) => Math.round(usd * nanosPerUsd)

export const nanosToUsd = (nanos: number) => nanos / nanosPerUsd

/** `$12.50`, `$0.0125`, `$0.000123`: up to six decimals, at least two. */
export function formatUsd(nanos: number): string {
  return `$${nanosToUsd(nanos)
    .toFixed(6)
    .replace(/(\.\d\d\d*?)0+$/, '$1')}`
}
