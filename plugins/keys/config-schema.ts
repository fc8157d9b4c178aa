// The `auth:` section of the config file: the master key, keys declared in the file, and how long a
// replica trusts a key it verified against the shared store.
import { type Static, Type } from '@sinclair/typebox'
import { optionalKeyFields } from './fields.js'

export const ConfigKey = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: 'must be 1 to 64 letters, digits, _ . or - (the key id is cfg-<name>)',
    }),
    key: Type.String({
      minLength: 20,
      description:
        'must be at least 20 characters: the secret clients send (put it in an environment variable)',
    }),
    ...optionalKeyFields,
    disabled: Type.Boolean({ default: false, description: 'true: the key is refused (401)' }),
  },
  { additionalProperties: false },
)
export type ConfigKey = Static<typeof ConfigKey>

export const KeyCacheSettings = Type.Object(
  {
    ttl_ms: Type.Integer({
      minimum: 0,
      default: 2000,
      description:
        'a key verified against Redis is trusted this long without asking again; a change made on another replica (disable, delete, rotate) applies here within it',
    }),
    stale_if_error_ms: Type.Integer({
      minimum: 0,
      default: 60_000,
      description:
        'with store.on_error allow, a key verified this recently still works while Redis is unreachable',
    }),
    max_entries: Type.Integer({ minimum: 1, default: 10_000, description: 'keys remembered per replica' }),
  },
  { additionalProperties: false, default: {} },
)
export type KeyCacheSettings = Static<typeof KeyCacheSettings>

export const AuthSettings = Type.Object(
  {
    master_key: Type.Optional(
      Type.String({
        description:
          'full access, the admin API included. Empty or unset with no auth.keys: /v1 is open and /admin refused',
      }),
    ),
    keys: Type.Array(ConfigKey, {
      default: [],
      description: 'virtual keys declared here: listed by GET /admin/keys, changed only in this file',
    }),
    key_cache: KeyCacheSettings,
  },
  { additionalProperties: false, default: {} },
)
export type AuthSettings = Static<typeof AuthSettings>
