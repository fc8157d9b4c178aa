// The admin API's virtual keys: what POST/PATCH /admin/keys take and what every /admin/keys route
// answers. Bodies are closed (an unknown field is a 400 naming it): a misspelt `rmp` must not
// silently create an unlimited key.
import { type Static, type TNull, type TOptional, type TUnion, Type } from '@sinclair/typebox'
import { keyFieldSchemas, optionalKeyFields } from '../../plugins/keys/fields.js'
import { Nullable } from '../typebox-helpers.js'

const KeyName = Type.String({ minLength: 1, maxLength: 128, description: 'a label for people; not unique' })
const Disabled = Type.Boolean({ description: 'true: the key is refused (401) until enabled again' })

type KeyFieldSchemas = typeof keyFieldSchemas

/** Every key field as optional and nullable: PATCH sends null to remove a limit. */
const clearableKeyFields = Object.fromEntries(
  Object.entries(keyFieldSchemas).map(([name, schema]) => [name, Type.Optional(Nullable(schema))]),
) as { [K in keyof KeyFieldSchemas]: TOptional<TUnion<[KeyFieldSchemas[K], TNull]>> }

export const CreateKeyRequest = Type.Object(
  {
    name: KeyName,
    ...optionalKeyFields,
    disabled: Type.Optional(Disabled),
  },
  { additionalProperties: false, description: 'Every field but name is optional; absent means no limit.' },
)
export type CreateKeyRequest = Static<typeof CreateKeyRequest>

export const UpdateKeyRequest = Type.Object(
  {
    name: Type.Optional(KeyName),
    ...clearableKeyFields,
    disabled: Type.Optional(Disabled),
  },
  {
    additionalProperties: false,
    description: 'Only the fields sent change; null removes a limit (rpm: null: no request limit).',
  },
)
export type UpdateKeyRequest = Static<typeof UpdateKeyRequest>

export const KeyRecord = Type.Object(
  {
    id: Type.String({ description: 'stable across rotations; limits and spend are kept per id' }),
    object: Type.Literal('api_key'),
    name: Type.String(),
    source: Type.Union([Type.Literal('api'), Type.Literal('config')], {
      description: 'config: declared in auth.keys, read-only here',
    }),
    key_hint: Type.String({ description: "the secret's last 4 characters" }),
    disabled: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    ...optionalKeyFields,
  },
  { description: 'A virtual key, without its secret' },
)
export type KeyRecord = Static<typeof KeyRecord>

export const IssuedKey = Type.Object(
  {
    ...KeyRecord.properties,
    key: Type.String({ description: 'the secret (sk-ag-...): shown only in this answer, store it now' }),
  },
  { description: 'A virtual key with its secret, answered once by create and rotate' },
)
export type IssuedKey = Static<typeof IssuedKey>

export const KeyList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(KeyRecord),
  has_more: Type.Boolean({ description: 'true: more stored keys exist than this answer holds (1,000)' }),
})
export type KeyList = Static<typeof KeyList>

export const DeletedKey = Type.Object({
  id: Type.String(),
  object: Type.Literal('api_key'),
  deleted: Type.Literal(true),
})

export const KeyParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, description: 'the key id (key_... or cfg-<name>)' }),
})
