// PLACEHOLDER while the gemini provider is being written; replaced before any commit.
import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'

export default fp(
  async (_app, opts: ProviderConfig) => {
    throw new Error(`provider type gemini is not built yet (providers.${opts.name})`)
  },
  {
    name: 'anygate-provider-gemini',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
