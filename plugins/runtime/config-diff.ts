// What a reload may change, and what changed. Pure: no I/O.
//
// A reload applies providers, models, routing, pricing and watch: everything a runtime is built from.
// Every other section configures something made once at startup (the listening socket, the state
// store connection, keys and auth, limits, the cache backend, spend, metrics, and any section added
// later), so it keeps its running value and the reload reports it as needing a restart instead of
// ignoring it silently.
import { isDeepStrictEqual } from 'node:util'
import type { LoadedConfig } from '../../config/load.js'

export const reloadableSections: ReadonlySet<string> = new Set([
  'providers',
  'models',
  'routing',
  'pricing',
  'watch',
])

/** Not config: where the file was, so it only follows the file. */
const bookkeeping: ReadonlySet<string> = new Set(['baseDir'])

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Dotted paths of the leaves that differ; an array is one leaf (`auth.keys`, `server.cors_origins`).
 * Names only: the values, secrets among them, never leave this function.
 */
export function changedPaths(before: unknown, after: unknown, path: string): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)])
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], path ? `${path}.${key}` : key))
  }
  return isDeepStrictEqual(before, after) ? [] : [path]
}

export interface AppliedReload {
  /** The loaded file with every restart-only section at its running value. */
  effective: LoadedConfig
  /** Paths changed in the file that only a restart applies. */
  restartRequired: string[]
}

export function applyReload(running: LoadedConfig, loaded: LoadedConfig): AppliedReload {
  const effective: Record<string, unknown> = { ...loaded }
  const restartRequired: string[] = []
  const sections = new Set([...Object.keys(running), ...Object.keys(loaded)])
  for (const section of sections) {
    if (reloadableSections.has(section) || bookkeeping.has(section)) continue
    const before = (running as Record<string, unknown>)[section]
    effective[section] = before
    restartRequired.push(...changedPaths(before, (loaded as Record<string, unknown>)[section], section))
  }
  return { effective: effective as LoadedConfig, restartRequired }
}

export interface NamedChanges {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ConfigChanges {
  providers: NamedChanges
  models: NamedChanges
  /** Changed paths under routing, pricing and watch. */
  settings: string[]
}

function diffByName<T extends { name: string }>(before: readonly T[], after: readonly T[]): NamedChanges {
  const old = new Map(before.map((item) => [item.name, item]))
  const next = new Map(after.map((item) => [item.name, item]))
  return {
    added: [...next.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !next.has(name)),
    changed: [...next]
      .filter(([name, item]) => old.has(name) && !isDeepStrictEqual(old.get(name), item))
      .map(([name]) => name),
  }
}

export function summarizeChanges(running: LoadedConfig, next: LoadedConfig): ConfigChanges {
  const settings = ['routing', 'pricing', 'watch'].flatMap((section) =>
    changedPaths(
      (running as Record<string, unknown>)[section],
      (next as Record<string, unknown>)[section],
      section,
    ),
  )
  return {
    providers: diffByName(running.providers, next.providers),
    models: diffByName(running.models, next.models),
    settings,
  }
}

/** The config a runtime is built from when an operator enables a provider its file leaves off. */
export function withProviderEnabled(config: LoadedConfig, name: string): LoadedConfig {
  return {
    ...config,
    providers: config.providers.map((p) => (p.name === name ? { ...p, enabled: true } : p)),
  }
}
