// Routing mistakes in the config are startup errors that name the path, never request-time surprises.
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../config/load.js'

const providers = { a: { type: 'mock' }, b: { type: 'mock' } }

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw, {})
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

const model = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  targets: [{ provider: 'a', model: `${name}-upstream` }],
  ...extra,
})

describe('routing config validation', () => {
  it('rejects a target whose provider is not configured, naming the target and the known ones', () => {
    const raw = {
      providers,
      models: [
        model('ok'),
        {
          name: 'bad',
          targets: [
            { provider: 'a', model: 'x' },
            { provider: 'ghost', model: 'y' },
          ],
        },
      ],
    }
    expect(() => parseConfig(raw, {})).toThrow(ConfigError)
    expect(problemsOf(raw)).toEqual([
      'models[1].targets[1].provider: no provider named "ghost" (configured: a, b)',
    ])
  })

  it.each(['fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks'])(
    'rejects a cycle in %s, naming where it starts and the loop',
    (field) => {
      const problems = problemsOf({
        providers,
        models: [
          model('a', { [field]: ['b'] }),
          model('b', { [field]: ['c'] }),
          model('c', { [field]: ['a'] }),
        ],
      })
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(new RegExp(`^models\\[0\\]\\.${field}: cycle a -> b -> c -> a`))
    },
  )

  it('rejects a model that falls back to itself', () => {
    expect(problemsOf({ providers, models: [model('solo', { fallbacks: ['solo'] })] })).toEqual([
      expect.stringMatching(/^models\[0\]\.fallbacks: cycle solo -> solo/),
    ])
  })

  it('accepts chains that merge without looping, and loops across different kinds', () => {
    const problems = problemsOf({
      providers,
      models: [
        model('a', { fallbacks: ['b', 'c'] }),
        model('b', { fallbacks: ['c'], context_window_fallbacks: ['a'] }),
        model('c'),
      ],
    })
    expect(problems).toEqual([])
  })

  it('rejects a model whose targets weigh 0 in total, but keeps a weight-0 standby beside a weighted one', () => {
    const problems = problemsOf({
      providers,
      models: [
        {
          name: 'standby-ok',
          targets: [
            { provider: 'a', model: 'x', weight: 1 },
            { provider: 'b', model: 'x', weight: 0 },
          ],
        },
        {
          name: 'dead',
          targets: [
            { provider: 'a', model: 'x', weight: 0 },
            { provider: 'b', model: 'x', weight: 0 },
          ],
        },
      ],
    })
    expect(problems).toEqual([expect.stringMatching(/^models\[1\]\.targets: total weight is 0/)])
  })

  it('reports every routing problem at once', () => {
    const problems = problemsOf({
      providers,
      models: [
        { name: 'x', targets: [{ provider: 'nope', model: 'm', weight: 0 }], fallbacks: ['y'] },
        model('y', { fallbacks: ['x'], context_window_fallbacks: ['missing'] }),
      ],
    })
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^models\[0\]\.targets\[0\]\.provider: no provider named "nope"/),
        expect.stringMatching(/^models\[0\]\.targets: total weight is 0/),
        expect.stringMatching(/^models\[0\]\.fallbacks: cycle x -> y -> x/),
        expect.stringMatching(/^models\[1\]\.context_window_fallbacks\[0\]: no model named "missing"/),
      ]),
    )
    expect(problems).toHaveLength(4)
  })

  it.each([
    [{ routing: { strategy: 'fastest' } }, /^routing\.strategy: /],
    [
      { routing: { circuit_breaker: { consecutive_failures: 0 } } },
      /^routing\.circuit_breaker\.consecutive_failures: /,
    ],
    [{ routing: { backoff_ms: { base: 200, maxx: 10 } } }, /^routing\.backoff_ms\.maxx: /],
    [
      { models: [{ name: 'm', targets: [{ provider: 'a', model: 'x', weight: -1 }] }] },
      /^models\[0\]\.targets\[0\]\.weight: /,
    ],
    [
      { models: [{ name: 'm', strategy: 'random', targets: [{ provider: 'a', model: 'x' }] }] },
      /^models\[0\]\.strategy: /,
    ],
  ])('rejects malformed routing settings by path (%j)', (raw, path) => {
    expect(problemsOf({ providers, ...raw })).toEqual([expect.stringMatching(path)])
  })
})
