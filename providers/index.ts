// Built-in provider plugins by config `type`, and loading of third-party ones by `plugin`.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import type { ProviderConfig } from '../config/load.js'
import type { ProviderType } from '../config/schema.js'
import anthropic from './anthropic/index.js'
import azure from './azure/index.js'
import gemini from './gemini/index.js'
import mock from './mock/index.js'
import ollama from './ollama/index.js'
import openai from './openai/index.js'

export type ProviderPlugin = FastifyPluginAsync<ProviderConfig>

export const builtinProviders: Record<ProviderType, ProviderPlugin> = {
  openai,
  anthropic,
  gemini,
  azure,
  ollama,
  mock,
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
  return builtinProviders[config.type as ProviderType]
}
