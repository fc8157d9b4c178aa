import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { createOpenAIAdapter } from '../openai/adapter.js'
import { azureDialect, defaultAzureApiVersion } from './dialect.js'

/** Azure OpenAI: targets name deployments; everything else is the openai adapter. */
export default fp(
  async (app, opts: ProviderConfig) => {
    const dialect = azureDialect(opts.api_version ?? defaultAzureApiVersion)
    app.providers.add(opts.name, createOpenAIAdapter(opts, dialect))
  },
  {
    name: 'anygate-provider-azure',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
