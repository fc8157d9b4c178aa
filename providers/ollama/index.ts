import fp from 'fastify-plugin'
import type { ProviderConfig } from '../../config/load.js'
import { createOpenAIAdapter, openAIDialect } from '../openai/adapter.js'

/**
 * Ollama through its OpenAI-compatible endpoint (default http://127.0.0.1:11434/v1, no key). Its
 * OpenAI layer reads the answer cap from max_tokens only
 * (https://github.com/ollama/ollama/blob/main/openai/openai.go, ChatCompletionRequest).
 */
export default fp(
  async (app, opts: ProviderConfig) => {
    app.providers.add(
      opts.name,
      createOpenAIAdapter(opts, { ...openAIDialect, type: 'ollama', legacyMaxTokens: true }),
    )
  },
  {
    name: 'anygate-provider-ollama',
    fastify: '5.x',
    dependencies: ['anygate-provider-registry'],
    encapsulate: true,
  },
)
