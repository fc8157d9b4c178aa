// The OpenAPI document is generated from the route schemas (TypeBox), so it can't drift from what
// the routes validate. Registered before the routes: @fastify/swagger collects them in onRoute.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'AnyGate',
    description:
      'An OpenAI-compatible LLM gateway. Point any OpenAI SDK at `/v1`; models are public names from the config or `<provider>/<upstream model>`.',
    version: '0.1.0',
  },
  tags: [
    { name: 'OpenAI', description: 'OpenAI-compatible inference API' },
    { name: 'Anthropic', description: 'Anthropic Messages-compatible API, served by any configured model' },
    { name: 'Health', description: 'Liveness and readiness probes' },
    { name: 'Admin', description: 'Virtual keys, spend, cache and operations; the master key only' },
  ],
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer' },
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
    },
  },
  // Either one: OpenAI clients send a bearer token, Anthropic clients x-api-key.
  security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
} as const

export default fp(
  async (app) => {
    await app.register(swagger, { openapi: structuredClone(openApiInfo) as never })
    await app.register(swaggerUi, { routePrefix: '/docs' })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'anygate-docs', fastify: '5.x' },
)
