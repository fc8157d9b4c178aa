import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FormatRegistry } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import { findRoutingProblems } from '../plugins/router/config-checks.js'
import { type Env, substituteEnv } from './env-substitute.js'
import { type Config, ConfigSchema, ProviderEntry, type ProviderType } from './schema.js'

if (!FormatRegistry.Has('uri')) {
  FormatRegistry.Set('uri', (value) => {
    if (!URL.canParse(value)) return false
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  })
}

/** Every problem in a config file, one per line, each led by its dotted path. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    source = 'config',
  ) {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

export const defaultBaseUrls: Partial<Record<ProviderType, string>> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
  ollama: 'http://127.0.0.1:11434/v1',
}

/** A provider entry after loading: named, with its base_url resolved and `enabled` decided. */
export type ProviderConfig = Omit<ProviderEntry, 'enabled'> & { name: string; enabled: boolean }

export type LoadedConfig = Omit<Config, 'providers'> & {
  providers: ProviderConfig[]
  /** Folder of the file it came from: relative plugin paths resolve against it. */
  baseDir: string
}

function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '')
}

function schemaProblems(value: unknown): string[] {
  const seen = new Set<string>()
  const problems: string[] = []
  for (const error of Value.Errors(ConfigSchema, value)) {
    const path = dotted(error.path) || '(root)'
    if (seen.has(path)) continue
    seen.add(path)
    const described = (error.schema as { description?: string }).description
    const message = described?.startsWith('must ') ? described : error.message.toLowerCase()
    problems.push(`${path}: ${message}`)
  }
  return problems
}

function crossProblems(config: Config): string[] {
  const problems: string[] = []
  for (const [name, entry] of Object.entries(config.providers)) {
    if (!entry.type && !entry.plugin) problems.push(`providers.${name}: needs a type or a plugin`)
    if (entry.type && entry.plugin) problems.push(`providers.${name}: give a type or a plugin, not both`)
    if (entry.type === 'azure' && !entry.base_url) {
      problems.push(`providers.${name}.base_url: required for azure (https://<resource>.openai.azure.com)`)
    }
  }
  if (config.store.type === 'redis' && !config.store.url) {
    problems.push('store.url: required when store.type is redis (redis://host:6379)')
  }
  const publicNames = new Set<string>()
  config.models.forEach((model, i) => {
    if (publicNames.has(model.name)) problems.push(`models[${i}].name: "${model.name}" is defined twice`)
    publicNames.add(model.name)
    model.targets.forEach((target, j) => {
      if (!config.providers[target.provider]) {
        const known = Object.keys(config.providers).join(', ') || 'none'
        problems.push(
          `models[${i}].targets[${j}].provider: no provider named "${target.provider}" (configured: ${known})`,
        )
      }
    })
  })
  config.models.forEach((model, i) => {
    model.fallbacks.forEach((fallback, j) => {
      if (!publicNames.has(fallback)) {
        problems.push(`models[${i}].fallbacks[${j}]: no model named "${fallback}" in models`)
      }
    })
  })
  return problems.concat(findRoutingProblems(config.models))
}

function resolveProvider(name: string, entry: ProviderEntry): ProviderConfig {
  const base_url = entry.base_url ?? (entry.type ? defaultBaseUrls[entry.type] : undefined)
  const enabled = entry.enabled === 'auto' ? Boolean(entry.api_key) : entry.enabled
  return { ...entry, name, base_url: base_url?.replace(/\/+$/, ''), enabled }
}

// TypeBox's Value.Default and Value.Convert do not descend into Record values, so provider entries
// get theirs one by one.
function withDefaults(document: unknown): unknown {
  const prepared = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, document)) as Record<
    string,
    unknown
  >
  const providers = prepared?.providers
  if (providers && typeof providers === 'object' && !Array.isArray(providers)) {
    for (const [name, entry] of Object.entries(providers)) {
      ;(providers as Record<string, unknown>)[name] = Value.Convert(
        ProviderEntry,
        Value.Default(ProviderEntry, entry),
      )
    }
  }
  return prepared
}

/** Validates an already parsed document: env substitution, defaults, types, cross references. */
export function parseConfig(raw: unknown, env: Env = process.env, baseDir = process.cwd()): LoadedConfig {
  const converted = withDefaults(substituteEnv(raw ?? {}, env))
  const problems = schemaProblems(converted)
  if (problems.length > 0) throw new ConfigError(problems)
  const config = converted as Config
  const cross = crossProblems(config)
  if (cross.length > 0) throw new ConfigError(cross)
  return {
    ...config,
    providers: Object.entries(config.providers).map(([name, entry]) => resolveProvider(name, entry)),
    baseDir,
  }
}

export function loadConfigFile(path: string, env: Env = process.env): LoadedConfig {
  const absolute = resolve(path)
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (err) {
    throw new ConfigError([`cannot read ${absolute}: ${(err as Error).message}`], absolute)
  }
  let raw: unknown
  try {
    raw = parseYaml(text, { prettyErrors: true })
  } catch (err) {
    // Only the first line (the problem and its line and column): the rest quotes the file, secrets too.
    const problem = (err as Error).message.split('\n')[0]!.replace(/:$/, '')
    throw new ConfigError([`not valid YAML: ${problem}`], absolute)
  }
  try {
    return parseConfig(raw, env, dirname(absolute))
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems, absolute)
    throw err
  }
}

/** config/anygate.yaml of this package, found from the running file (source or dist/). */
export function defaultConfigPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'config', 'anygate.yaml')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  return resolve('config/anygate.yaml')
}
