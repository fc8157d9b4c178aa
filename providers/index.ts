// Built-in provider plugins by config `type`, and loading of third-party ones by `plugin`.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import type { ProviderConfig } from '../config/load.js'
import type { ProviderType } from '../config/schema.js'

export type ProviderPlugin = FastifyPluginAsync<ProviderConfig>

// Imported when a provider of the type is configured: a gateway in front of one kind of upstream
// does not hold the code of the other adapters.
export const builtinProviders: Record<ProviderType, () => Promise<{ default: ProviderPlugin }>> = {
  openai: () => import('./openai/index.js'),
  anthropic: () => import('./anthropic/index.js'),
  gemini: () => import('./gemini/index.js'),
  azure: () => import('./azure/index.js'),
  ollama: () => import('./ollama/index.js'),
  mock: () => import('./mock/index.js'),
}

/**
 * A third-party provider is an ES module whose default export is a Fastify plugin with the same
 * contract as the built-ins: it receives its ProviderConfig and calls app.providers.add(name, adapter).
 */
export async function loadProviderPlugin(specifier: string, baseDir: string): Promise<ProviderPlugin> {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/')
  const target = isPath ? pathToFileURL(resolve(baseDir, specifier)).href : specifier
  let loaded: { default?: unknown }
  try {
    loaded = await import(target)
  } catch (err) {
    throw new Error(`cannot load provider plugin "${specifier}": ${(err as Error).message}`)
  }
  if (typeof loaded.default !== 'function') {
    throw new Error(`provider plugin "${specifier}" must export a Fastify plugin as its default export`)
  }
  return loaded.default as ProviderPlugin
}

export async function providerPluginFor(config: ProviderConfig, baseDir: string): Promise<ProviderPlugin> {
  if (config.plugin) return loadProviderPlugin(config.plugin, baseDir)
  return (await builtinProviders[config.type as ProviderType]()).default
}
