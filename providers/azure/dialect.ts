// Azure OpenAI is the OpenAI API with the deployment in the path, the version in the query and the
// key in an api-key header: https://learn.microsoft.com/azure/ai-services/openai/reference
import type { OpenAIDialect } from '../openai/adapter.js'
import { openAIDialect } from '../openai/adapter.js'
import { toPathSegment } from '../shared/path-segment.js'

/** The latest GA data-plane version when the config names none. */
export const defaultAzureApiVersion = '2024-10-21'

export function azureDialect(apiVersion: string): OpenAIDialect {
  const query = `?api-version=${encodeURIComponent(apiVersion)}`
  const deployment = (model: string) => `/openai/deployments/${toPathSegment(model)}`
  return {
    ...openAIDialect,
    type: 'azure',
    chatPath: (model) => `${deployment(model)}/chat/completions${query}`,
    embeddingsPath: (model) => `${deployment(model)}/embeddings${query}`,
    authHeaders: (apiKey): Record<string, string> => (apiKey ? { 'api-key': apiKey } : {}),
    // The deployment in the URL picks the model.
    modelInBody: false,
  }
}
