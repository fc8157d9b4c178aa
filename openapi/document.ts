// The OpenAPI document depends only on the routes, so any config that builds an app yields it.
import { buildApp } from '../app.js'
import { parseConfig } from '../config/load.js'

export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const app = await buildApp(parseConfig({ providers: { mock: { type: 'mock' } } }, {}), { logger: false })
  try {
    await app.ready()
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

export const serializeDocument = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`
