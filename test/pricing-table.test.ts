// The price table on its own: which entry a provider and upstream model id find (dated suffixes,
// globs, provider qualifiers, target overrides), the cost arithmetic, and how the shipped file, a
// `pricing.file` and `pricing.models` layer and are validated.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../config/load.js'
import { createPriceTable } from '../plugins/pricing/index.js'
import { readPricingFile, shippedPricingPath } from '../plugins/pricing/load.js'
import { costNanos, modelNameCandidates, PriceTable } from '../plugins/pricing/table.js'
import { configProblems } from './helpers/app.js'

const providers = [
  { name: 'openai', type: 'openai' },
  { name: 'azure-eu', type: 'azure' },
  { name: 'claude', type: 'anthropic' },
  { name: 'google', type: 'gemini' },
  { name: 'mock', type: 'mock' },
  { name: 'local', type: 'ollama' },
  { name: 'groq', type: 'openai' },
]
const shipped = createPriceTable({ settings: { models: {} }, baseDir: process.cwd(), providers })

const usd = (input: number, output: number, cached?: number) => ({
  input_per_mtok: input,
  output_per_mtok: output,
  ...(cached === undefined ? {} : { cached_input_per_mtok: cached }),
})

describe('the shipped table', () => {
  it('validates and prices the common models of every provider', () => {
    const entries = readPricingFile(shippedPricingPath())
    for (const model of [
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
      'o3',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'text-embedding-3-small',
      'text-embedding-3-large',
      'claude-3-5-sonnet',
      'claude-3-7-sonnet',
      'claude-sonnet-4',
      'claude-opus-4',
      'claude-3-5-haiku',
      'gemini-1.5-pro',
      'gemini-1.5-flash',
      'gemini-2.0-flash',
      'gemini-2.5-pro',
      'gemini-2.5-flash',
      'mock/*',
    ]) {
      expect(entries, model).toHaveProperty([model])
    }
  })

  it.each([
    ['openai', 'gpt-4o', usd(2.5, 10, 1.25)],
    ['openai', 'gpt-4o-2024-08-06', usd(2.5, 10, 1.25)],
    ['openai', 'gpt-4o-mini-2024-07-18', usd(0.15, 0.6, 0.075)],
    ['openai', 'gpt-4.1-mini-2025-04-14', usd(0.4, 1.6, 0.1)],
    ['openai', 'gpt-4-0613', usd(30, 60)],
    ['openai', 'o4-mini-2025-04-16', usd(1.1, 4.4, 0.275)],
    ['azure-eu', 'gpt-4o', usd(2.5, 10, 1.25)],
    ['claude', 'claude-sonnet-4-20250514', usd(3, 15, 0.3)],
    ['claude', 'claude-opus-4-1-20250805', usd(15, 75, 1.5)],
    ['claude', 'claude-3-5-haiku-latest', usd(0.8, 4, 0.08)],
    ['google', 'gemini-1.5-pro-002', usd(1.25, 5, 0.3125)],
    ['google', 'gemini-2.5-flash-preview-05-20', usd(0.3, 2.5, 0.075)],
    ['google', 'gemini-2.5-flash-lite', usd(0.1, 0.4, 0.025)],
    ['mock', 'echo', usd(0, 0)],
    ['local', 'llama3.1:8b', usd(0, 0)],
  ])('%s %s', (provider, model, price) => {
    expect(shipped.priceFor(provider, model)).toEqual(price)
  })

  it('has no price for a model it does not know, and prices the mock only under its provider', () => {
    expect(shipped.priceFor('groq', 'llama-3.3-70b-versatile')).toBeUndefined()
    expect(shipped.priceFor('openai', 'echo')).toBeUndefined()
    expect(shipped.priceFor('nobody', 'gpt-4o')).toEqual(usd(2.5, 10, 1.25))
  })

  it("prefers the target's own price", () => {
    expect(shipped.priceFor('openai', 'gpt-4o', usd(1, 2))).toEqual(usd(1, 2))
  })
})

describe('lookup rules', () => {
  const types = new Map([
    ['eu', 'openai'],
    ['us', 'openai'],
  ])
  const table = new PriceTable(
    [
      {
        'gpt-4.1*': { input: 2, output: 8 },
        'gpt-4.1-mini*': { input: 0.4, output: 1.6 },
        'model-?': { input: 9, output: 9 },
        'model-1': { input: 1, output: 1 },
        'openai/custom': { input: 5, output: 5 },
        'eu/custom': { input: 6, output: 6 },
      },
      { 'model-1': { input: 1.5, output: 1.5, cached_input: 0.5 } },
    ],
    types,
  )

  it('lets the most specific glob win and an exact key beat any glob', () => {
    expect(table.priceFor('us', 'gpt-4.1-mini-2025-04-14')?.input_per_mtok).toBe(0.4)
    expect(table.priceFor('us', 'gpt-4.1-nano')?.input_per_mtok).toBe(2)
    expect(table.priceFor('us', 'model-2')?.input_per_mtok).toBe(9)
  })

  it('lets a later layer override an earlier one key by key', () => {
    expect(table.priceFor('us', 'model-1')).toEqual(usd(1.5, 1.5, 0.5))
  })

  it('tries the provider name, then its type, then the bare id', () => {
    expect(table.priceFor('eu', 'custom')?.input_per_mtok).toBe(6)
    expect(table.priceFor('us', 'custom')?.input_per_mtok).toBe(5)
    expect(table.priceFor('other', 'custom')).toBeUndefined()
  })

  it('strips one dated or versioned suffix at a time', () => {
    expect(modelNameCandidates('gemini-2.5-flash-lite-preview-06-17')).toEqual([
      'gemini-2.5-flash-lite-preview-06-17',
      'gemini-2.5-flash-lite',
    ])
    expect(modelNameCandidates('gpt-4o-2024-08-06')).toEqual(['gpt-4o-2024-08-06', 'gpt-4o'])
    expect(modelNameCandidates('claude-3-5-sonnet-20241022')).toEqual([
      'claude-3-5-sonnet-20241022',
      'claude-3-5-sonnet',
    ])
    expect(modelNameCandidates('claude-opus-4-1')).toEqual(['claude-opus-4-1'])
  })
})

describe('costNanos', () => {
  it('prices cached prompt tokens at the cached rate and the rest at input and output', () => {
    // 1000 prompt (400 cached), 500 completion at gpt-4o: 600 × 2.5 + 400 × 1.25 + 500 × 10 micro-USD.
    expect(costNanos({ prompt: 1000, completion: 500, cachedPrompt: 400 }, usd(2.5, 10, 1.25))).toBe(
      7_000_000,
    )
  })

  it('prices cached tokens at input without a cached price, and never more cached than prompt', () => {
    expect(costNanos({ prompt: 10, completion: 0, cachedPrompt: 4 }, usd(3, 15))).toBe(30_000)
    expect(costNanos({ prompt: 10, completion: 0, cachedPrompt: 40 }, usd(3, 15, 0.3))).toBe(3_000)
  })

  it('keeps a single cheap token exact in nano-USD', () => {
    expect(costNanos({ prompt: 1, completion: 0, cachedPrompt: 1 }, usd(0.05, 0.4, 0.005))).toBe(5)
  })
})

describe('pricing files and pricing.models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anygate-pricing-'))

  it('layers pricing.file over the shipped table and pricing.models over both', () => {
    writeFileSync(
      join(dir, 'prices.yaml'),
      'models:\n  gpt-4o: { input: 2, output: 8 }\n  in-house-*: { input: 0.5, output: 1 }\n',
    )
    const table = createPriceTable({
      settings: {
        file: 'prices.yaml',
        models: { 'in-house-large': { input: 1, output: 2, cached_input: 0.1 } },
      },
      baseDir: dir,
      providers,
    })
    expect(table.priceFor('openai', 'gpt-4o')).toEqual(usd(2, 8))
    expect(table.priceFor('openai', 'in-house-small')).toEqual(usd(0.5, 1))
    expect(table.priceFor('openai', 'in-house-large')).toEqual(usd(1, 2, 0.1))
    expect(table.priceFor('openai', 'gpt-4o-mini')).toEqual(usd(0.15, 0.6, 0.075))
  })

  it('refuses a pricing file with every bad path named', () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'models:\n  gpt-4o: { input: -1, output: 8, cahced_input: 1 }\nextra: 1\n',
    )
    let problems: string[] = []
    try {
      createPriceTable({ settings: { file: 'bad.yaml', models: {} }, baseDir: dir, providers })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      problems = (err as ConfigError).problems
    }
    expect(problems.join('\n')).toContain('pricing.file: models.gpt-4o.input')
    expect(problems.join('\n')).toContain('models.gpt-4o.cahced_input')
    expect(problems.join('\n')).toContain('extra')
  })

  it('names a pricing file it cannot read', () => {
    expect(() =>
      createPriceTable({ settings: { file: 'missing.yaml', models: {} }, baseDir: dir, providers }),
    ).toThrow(/pricing\.file: cannot read pricing file .*missing\.yaml/)
  })

  it('validates pricing, spend, budgets and target prices in the config', () => {
    const problems = configProblems({
      pricing: { models: { 'gpt-4o': { input: 'cheap', output: 1 } }, colour: 'x' },
      spend: { retention_days: 0 },
      budgets: { alert_webhook: 'not a url', thresholds: [0] },
      providers: { mock: { type: 'mock' } },
      models: [
        {
          name: 'm',
          targets: [
            {
              provider: 'mock',
              model: 'echo',
              price: { input_per_mtok: 1, output_per_mtok: 1, cached_input_per_mtok: -1 },
            },
          ],
        },
      ],
    }).join('\n')
    expect(problems).toContain('pricing.models.gpt-4o.input')
    expect(problems).toContain('pricing.colour')
    expect(problems).toContain('spend.retention_days')
    expect(problems).toContain('budgets.alert_webhook: must be a URL')
    expect(problems).toContain('budgets.thresholds[0]')
    expect(problems).toContain('models[0].targets[0].price.cached_input_per_mtok')
  })
})
