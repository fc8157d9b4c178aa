// The anthropic provider plugin: one adapter per config entry, added to the registry under its name.
import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { createAnthropicAdapter } from './adapter.js'

/** Anthropic's Messages API (api.anthropic.com, or any server that speaks it at {base_url}/v1/messages). */
export default fp(
  async (app, opts: ProviderConfig) => {
    app.providers.add(opts.name, createAnthropicAdapter(opts))
  },
  {
    name: 'anygate-provider-anthropic',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
