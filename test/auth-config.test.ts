// The auth section of the config file: keys declared there, the key cache and allow_client_key,
// validated at load with every bad path named.
import { describe, expect, it } from 'vitest'
import { findAuthProblems } from '../plugins/keys/config-checks.js'
import { configProblems, testConfig } from './helpers/app.js'

const base = { providers: { mock: { type: 'mock' } } }
/** `${NAME}`, substituted from the environment at load. */
const envRef = (name: string) => `\${${name}}`

describe('auth config', () => {
  it('takes keys with the same fields as the admin API, from the environment, with defaults', () => {
    const config = testConfig(
      {
        ...base,
        auth: {
          keys: [
            {
              name: 'ci',
              key: envRef('CI_KEY'),
              models: ['echo', 'mock/*'],
              rpm: '30',
              budget: { amount_usd: 10, period: 'weekly' },
              expires_at: '2030-01-01T00:00:00Z',
              metadata: { owner: 'platform' },
            },
          ],
        },
      },
      { CI_KEY: 'ci-secret-from-env-0123456789' },
    )
    expect(config.auth.keys[0]).toMatchObject({
      key: 'ci-secret-from-env-0123456789',
      rpm: 30,
      disabled: false,
    })
    expect(config.auth.key_cache).toEqual({ ttl_ms: 2000, stale_if_error_ms: 60_000, max_entries: 10_000 })
    expect(config.providers[0]!.allow_client_key).toBe(false)
  })

  it('names every bad key field', () => {
    const problems = configProblems(
      {
        ...base,
        auth: {
          keys: [
            { name: 'has space', key: 'short' },
            { name: 'ok', key: 'long-enough-secret-0123456789', expires_at: 'next week', rmp: 1 },
            { name: 'ok2', key: envRef('UNSET_KEY'), budget: { amount_usd: 1, period: 'yearly' } },
          ],
          key_cache: { ttl_ms: -1 },
        },
      },
      {},
    )
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^auth\.keys\[0\]\.name: must be 1 to 64 letters/),
        expect.stringMatching(/^auth\.keys\[0\]\.key: must be at least 20 characters/),
        expect.stringMatching(/^auth\.keys\[1\]\.expires_at: /),
        expect.stringMatching(/^auth\.keys\[1\]\.rmp: /),
        expect.stringMatching(/^auth\.keys\[2\]\.key: must be at least 20 characters/),
        expect.stringMatching(/^auth\.keys\[2\]\.budget\.period: /),
        expect.stringMatching(/^auth\.key_cache\.ttl_ms: /),
      ]),
    )
  })

  it('takes allow_client_key per provider', () => {
    const config = testConfig({ providers: { mine: { type: 'openai', allow_client_key: true } } })
    expect(config.providers[0]!.allow_client_key).toBe(true)
    expect(configProblems({ providers: { mine: { type: 'openai', allow_client_key: 'yes' } } })).toEqual([
      expect.stringMatching(/^providers\.mine\.allow_client_key: /),
    ])
  })

  it('finds a key name or secret declared twice, or a key equal to the master key', () => {
    const key = (name: string, secret: string) => ({ name, key: secret, disabled: false })
    expect(
      findAuthProblems({
        master_key: 'master-secret-0123456789',
        keys: [
          key('ci', 'ci-secret-0123456789abcdef'),
          key('ci', 'other-secret-0123456789ab'),
          key('again', 'ci-secret-0123456789abcdef'),
          key('boss', 'master-secret-0123456789'),
        ],
      }),
    ).toEqual([
      'auth.keys[1].name: "ci" is declared twice',
      'auth.keys[2].key: the same key is declared twice',
      'auth.keys[3].key: equals auth.master_key; give each key its own secret',
    ])
    expect(findAuthProblems({ keys: [key('a', 'a-secret-0123456789abcdef')] })).toEqual([])
  })
})
