// Writes that happen after the answer (spend records, budget settlements, alerts) can't fail the
// request any more, so they are retried a few times and, when every attempt failed, handed to
// `giveUp` to log in full: a lost record must at least be recoverable from the logs.
import { setTimeout as sleep } from 'node:timers/promises'

export async function withRetries<T>(
  work: () => Promise<T>,
  delaysMs: readonly number[],
  giveUp: (err: unknown, attempts: number) => void,
  signal?: AbortSignal,
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work()
    } catch (err) {
      const delay = delaysMs[attempt]
      if (delay === undefined || signal?.aborted) {
        giveUp(err, attempt + 1)
        return undefined
      }
      try {
        await sleep(delay, undefined, { signal })
      } catch {
        giveUp(err, attempt + 1)
        return undefined
      }
    }
  }
}

/** The logging the background work needs; a pino logger is one. */
export interface BackgroundLogger {
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err))
