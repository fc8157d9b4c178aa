// Reads the pricing files: config/pricing.yaml shipped with the package, then the operator's
// `pricing.file`, each validated like the config (every problem by dotted path, unknown keys refused).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../config/load.js'
import { type PriceEntry, PricingFile, type PricingSettings } from './config-schema.js'

/** config/pricing.yaml of this package, found from the running file (source or dist/). */
export function shippedPricingPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'config', 'pricing.yaml')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  return resolve('config/pricing.yaml')
}

const dotted = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.')

/** The entries of one pricing file; a ConfigError naming the file and every bad path otherwise. */
export function readPricingFile(path: string, source = path): Record<string, PriceEntry> {
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ConfigError([`${source}: cannot read pricing file ${path}: ${(err as Error).message}`])
  }
  const document = Value.Default(PricingFile, raw ?? {})
  const problems = [...Value.Errors(PricingFile, document)].map(
    (error) => `${source}: ${dotted(error.path) || '(root)'}: ${error.message.toLowerCase()}`,
  )
  if (problems.length > 0) throw new ConfigError([...new Set(problems)])
  return (document as PricingFile).models
}

/** The table's layers in increasing precedence: shipped file, `pricing.file`, `pricing.models`. */
export function loadPriceLayers(
  settings: PricingSettings,
  baseDir: string,
  shippedPath = shippedPricingPath(),
): Record<string, PriceEntry>[] {
  const layers = [readPricingFile(shippedPath, 'config/pricing.yaml')]
  if (settings.file) layers.push(readPricingFile(resolve(baseDir, settings.file), 'pricing.file'))
  layers.push(settings.models)
  return layers
}
