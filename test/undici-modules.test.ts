// The gateway loads undici's Pool and errors modules directly rather than its index (see
// providers/shared/upstream-client.ts). These must stay the very classes the index exports: an
// undici release that moves or replaces the files fails here rather than in production.
import { Pool as IndexPool, errors as indexErrors } from 'undici'
import errors from 'undici/lib/core/errors.js'
import Pool from 'undici/lib/dispatcher/pool.js'
import { describe, expect, it } from 'vitest'

describe('undici modules loaded without its index', () => {
  it('the Pool module is the Pool undici exports', () => {
    expect(Pool).toBe(IndexPool)
  })

  it('the errors module holds the error classes undici exports', () => {
    expect(errors).toBe(indexErrors)
    expect(new errors.RequestAbortedError()).toBeInstanceOf(indexErrors.RequestAbortedError)
  })
})
