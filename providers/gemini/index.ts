// The gemini provider plugin: one adapter per config entry, added to the registry under its name.
import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { createGeminiAdapter } from './adapter.js'

/** Google's Gemini API (generativelanguage.googleapis.com, or any server speaking it at {base_url}/v1beta). */
export default fp(
  async (app, opts: ProviderConfig) => {
    app.providers.add(opts.name, createGeminiAdapter(opts))
  },
  {
    name: 'anygate-provider-gemini',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
