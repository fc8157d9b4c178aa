// /admin/keys: create, list, read, edit, rotate and delete virtual keys. The secret is answered by
// create and rotate only and never logged; each change is logged with the acting principal's id.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { KeyRecord as StoredRecord } from '../../plugins/keys/types.js'
import {
  CreateKeyRequest,
  DeletedKey,
  IssuedKey,
  KeyList,
  KeyParams,
  KeyRecord,
  UpdateKeyRequest,
} from '../../schemas/admin/keys.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

const adminErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  503: ErrorResponse,
} as const

const shown = (record: StoredRecord): KeyRecord => ({ ...record, object: 'api_key' })

function audit(request: FastifyRequest, action: string, keyId: string): void {
  request.log.info({ admin_action: action, key_id: keyId, actor: request.principal?.id }, `admin: ${action}`)
}

export const adminKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const params = KeyParams

  app.post(
    '/keys',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'createKey',
        summary: 'Creates a virtual key; the answer holds its secret, shown only this once',
        body: CreateKeyRequest,
        response: { 201: IssuedKey, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { record, secret } = await app.keys.create(request.body)
      audit(request, 'key.create', record.id)
      return reply.code(201).send({ ...shown(record), key: secret })
    },
  )

  app.get(
    '/keys',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'listKeys',
        summary: 'Lists the virtual keys (config-declared first), without secrets',
        response: { 200: KeyList, ...adminErrors },
      },
    },
    async () => {
      const { keys, hasMore } = await app.keys.list()
      return { object: 'list' as const, data: keys.map(shown), has_more: hasMore }
    },
  )

  app.get(
    '/keys/:id',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'getKey',
        summary: 'Retrieves a virtual key, without its secret',
        params,
        response: { 200: KeyRecord, ...adminErrors },
      },
    },
    async (request) => shown(await app.keys.get(request.params.id)),
  )

  app.patch(
    '/keys/:id',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'updateKey',
        summary: 'Changes a virtual key: only the fields sent, null removes a limit',
        params,
        body: UpdateKeyRequest,
        response: { 200: KeyRecord, ...adminErrors },
      },
    },
    async (request) => {
      const record = await app.keys.update(request.params.id, request.body)
      audit(request, 'key.update', record.id)
      return shown(record)
    },
  )

  app.post(
    '/keys/:id/rotate',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'rotateKey',
        summary: 'Replaces the secret of a virtual key; the old one stops working at once',
        description:
          'Same id and record, so limits and spend stay with the key. The new secret is shown once. ' +
          'Other replicas stop accepting the old secret within auth.key_cache.ttl_ms.',
        params,
        response: { 200: IssuedKey, ...adminErrors },
      },
    },
    async (request) => {
      const { record, secret } = await app.keys.rotate(request.params.id)
      audit(request, 'key.rotate', record.id)
      return { ...shown(record), key: secret }
    },
  )

  app.delete(
    '/keys/:id',
    {
      schema: {
        tags: ['Admin'],
        operationId: 'deleteKey',
        summary: 'Deletes a virtual key; it stops working at once',
        description: 'Other replicas refuse it within auth.key_cache.ttl_ms.',
        params,
        response: { 200: DeletedKey, ...adminErrors },
      },
    },
    async (request) => {
      await app.keys.delete(request.params.id)
      audit(request, 'key.delete', request.params.id)
      return { id: request.params.id, object: 'api_key' as const, deleted: true as const }
    },
  )
}
