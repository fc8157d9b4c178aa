import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { createOpenAIAdapter, openAIDialect } from './adapter.js'

/** OpenAI and every server that speaks its API (vLLM, Groq, Together, DeepSeek, Mistral, LM Studio...). */
export default fp(
  async (app, opts: ProviderConfig) => {
    app.providers.add(opts.name, createOpenAIAdapter(opts, openAIDialect))
  },
  {
    name: 'anygate-provider-openai',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
