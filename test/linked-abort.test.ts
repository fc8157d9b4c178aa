import { getEventListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startAttemptTimer } from '../plugins/router/attempt-timer.js'
import { LinkedAbort } from '../plugins/router/linked-abort.js'

describe('LinkedAbort', () => {
  it('runs each listener once, in order, without duplicates; none added after the abort', () => {
    const abort = new LinkedAbort()
    const calls: string[] = []
    const a = () => calls.push('a')
    abort.addEventListener('abort', a)
    abort.addEventListener('abort', a)
    abort.addEventListener('abort', () => calls.push('b'))
    const removed = () => calls.push('removed')
    abort.addEventListener('abort', removed)
    abort.removeEventListener('abort', removed)
    abort.abort()
    abort.abort()
    abort.addEventListener('abort', () => calls.push('late'))
    expect(calls).toEqual(['a', 'b'])
    expect(abort.aborted).toBe(true)
    expect((abort.reason as DOMException).name).toBe('AbortError')
  })

  it('follows its source with its reason, until unlinked', () => {
    const source = new AbortController()
    const linked = new LinkedAbort(source.signal)
    const unlinked = new LinkedAbort(source.signal)
    unlinked.unlink()
    source.abort('gone')
    expect(linked.aborted).toBe(true)
    expect(linked.reason).toBe('gone')
    expect(unlinked.aborted).toBe(false)
    expect(new LinkedAbort(source.signal).aborted).toBe(true)
  })

  it('is a signal node:timers/promises accepts and honours', async () => {
    const abort = new LinkedAbort()
    const waiting = sleep(10_000, undefined, { signal: abort.signal })
    abort.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    await expect(sleep(1, 'done', { signal: new LinkedAbort().signal })).resolves.toBe('done')
  })
})

describe('startAttemptTimer on a long-lived signal', () => {
  it('leaves no listener behind once unlinked, as health probes on the app-closing signal do', () => {
    const closing = new AbortController()
    for (let i = 0; i < 100; i++) {
      const timer = startAttemptTimer(closing.signal, 1000)
      timer.stop()
      timer.unlink()
    }
    expect(getEventListeners(closing.signal, 'abort')).toHaveLength(0)
  })
})
