import { onTestFinished } from 'vitest'

const suiteResources: (() => unknown)[] = []

/**
 * Closes `close` when the current test ends; outside a test (in beforeAll) it is kept until the file
 * calls closeSuiteResources() in its afterAll.
 */
export function closeAfterTest(close: () => unknown): void {
  try {
    onTestFinished(async () => {
      await close()
    })
  } catch {
    suiteResources.push(close)
  }
}

export async function closeSuiteResources(): Promise<void> {
  const pending = suiteResources.splice(0)
  await Promise.allSettled(pending.map((close) => close()))
}
