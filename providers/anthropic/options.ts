// providers.<name>.options for type anthropic, checked once when the provider starts: a misspelt
// or mistyped option stops startup with its path instead of being ignored.
import type { ProviderConfig } from '../../config/load.js'
import type { AnthropicOptions } from './wire.js'

/** The API version this adapter's translations follow: https://platform.claude.com/docs/en/api/versioning */
export const defaultAnthropicVersion = '2023-06-01'

const known = ['anthropic_version', 'default_max_tokens']

/** A positive integer; `${VAR}` substitution yields strings, so digit strings count too. */
function positiveInteger(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null
}

export function readAnthropicOptions(config: Pick<ProviderConfig, 'name' | 'options'>): AnthropicOptions {
  const raw = config.options ?? {}
  const at = (key: string) => `providers.${config.name}.options.${key}`
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new Error(`${at(key)}: unknown option for type anthropic (known: ${known.join(', ')})`)
    }
  }
  const options: AnthropicOptions = { anthropic_version: defaultAnthropicVersion }
  if (raw.anthropic_version !== undefined) {
    if (typeof raw.anthropic_version !== 'string' || raw.anthropic_version.trim() === '') {
      throw new Error(
        `${at('anthropic_version')}: must be a version string such as ${defaultAnthropicVersion}`,
      )
    }
    options.anthropic_version = raw.anthropic_version.trim()
  }
  if (raw.default_max_tokens !== undefined) {
    const value = positiveInteger(raw.default_max_tokens)
    if (value === null) throw new Error(`${at('default_max_tokens')}: must be a positive integer`)
    options.default_max_tokens = value
  }
  return options
}
