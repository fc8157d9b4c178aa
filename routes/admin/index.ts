// The admin API's frame: `adminRoutes(plugin)` registers a plugin's routes so that each one needs the
// master key, whatever the plugin declares, is tagged Admin in the OpenAPI document, and answers an
// unknown body field with a 400 naming it, and logs every request as an `admin action` line.
// app.ts registers each admin plugin under /admin with it:
//   await app.register(adminRoutes(adminKeyRoutes), { prefix: '/admin' })
import type { FastifyPluginAsync, FastifySchemaValidationError } from 'fastify'
import { GatewayError } from '../../plugins/gateway-error.js'
import { toFieldPath, validationMessage } from '../../plugins/validation-message.js'

/** Admin bodies are closed; Ajv's own message for an extra field doesn't say which one. */
export function adminValidationError(errors: FastifySchemaValidationError[], context: string): GatewayError {
  const extra = errors.find((e) => e.keyword === 'additionalProperties')
  if (extra) {
    const param = toFieldPath(extra.instancePath, String(extra.params.additionalProperty))
    return new GatewayError(
      400,
      `Unrecognized parameter: '${param}'${context === 'body' ? '' : ` in ${context}`}. See GET /docs for the fields.`,
      'invalid_request_error',
      'unknown_parameter',
      param,
    )
  }
  const { message, param } = validationMessage(errors, context)
  return new GatewayError(400, message, 'invalid_request_error', 'invalid_value', param)
}

export function adminRoutes(routes: FastifyPluginAsync): FastifyPluginAsync {
  return async (app) => {
    // Only this plugin's routes: the hook lives in this encapsulated context.
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'master' }
      if (route.schema && !route.schema.hide) route.schema.tags ??= ['Admin']
      route.schemaErrorFormatter ??= adminValidationError
    })
    // The audit trail: one line per admin request, with the acting key's id as `actor` (never its
    // secret), as routes/admin/keys.ts names it in its own lines.
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url,
          status: reply.statusCode,
          actor: request.principal?.id ?? null,
        },
        'admin action',
      )
      done()
    })
    await app.register(routes)
  }
}
