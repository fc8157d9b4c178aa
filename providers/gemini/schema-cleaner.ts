// JSON Schema (as OpenAI tools and response_format carry it) -> the OpenAPI 3.0 subset that Gemini's
// Schema object takes (https://ai.google.dev/api/caching#Schema). Gemini answers a keyword outside
// that subset with 400 "Unknown name ...", so each keyword is either kept, translated, dropped (only
// annotations that cannot change an answer) or refused here with a 400 naming its path. Pure.
import { invalidInput, unsupportedInput } from './input-errors.js'
import type { GeminiSchema } from './wire.js'

/** Schema fields Gemini documents with the JSON Schema meaning: copied unchanged. */
const keptKeywords = new Set([
  'description',
  'title',
  'format',
  'nullable',
  'required',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minProperties',
  'maxProperties',
  'minimum',
  'maximum',
  'pattern',
  'example',
  'default',
  'propertyOrdering',
])

/**
 * Annotations and meta keywords: they describe the schema document, not the value, so dropping them
 * changes nothing the model may produce. `$defs`/`definitions` are consumed by $ref inlining.
 */
const droppedKeywords = new Set([
  '$schema',
  '$id',
  '$comment',
  '$anchor',
  '$defs',
  'definitions',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
  'contentEncoding',
  'contentMediaType',
])

/** What to write instead, for keywords clients often use that Gemini has no field for. */
const hints: Record<string, string> = {
  oneOf: 'use anyOf',
  allOf: 'merge the subschemas into one',
  exclusiveMinimum: 'use minimum',
  exclusiveMaximum: 'use maximum',
  additionalProperties: 'list the properties, or describe the map in `description`',
  prefixItems: 'use items with one schema',
}

/** JSON Schema type names -> Gemini's Type enum (https://ai.google.dev/api/caching#Type). */
const geminiTypes: Record<string, string> = {
  string: 'STRING',
  number: 'NUMBER',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  array: 'ARRAY',
  object: 'OBJECT',
  null: 'NULL',
}

export interface SchemaTarget {
  provider: string
  /** Where the schema sits in the client's request, e.g. `tools[0].function.parameters`. */
  param: string
}

interface Walk extends SchemaTarget {
  defs: Record<string, unknown>
  /** $ref names being inlined on the current path, to refuse recursion instead of looping. */
  inlining: string[]
}

type JsonObject = Record<string, unknown>

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** True for `{ "type": "null" }`, the way pydantic and zod write Optional inside anyOf. */
const isNullSchema = (value: unknown) =>
  isObject(value) && value.type === 'null' && Object.keys(value).length === 1

function refuse(walk: Walk, path: string, keyword: string): never {
  const hint = hints[keyword]
  throw unsupportedInput(
    walk.provider,
    path,
    `the JSON Schema keyword \`${keyword}\` (Gemini's Schema has no such field${hint ? `; ${hint}` : ''})`,
  )
}

function inlineRef(ref: unknown, path: string, walk: Walk): GeminiSchema {
  const match = typeof ref === 'string' ? /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref) : null
  const name = match?.[1]?.replaceAll('~1', '/').replaceAll('~0', '~')
  if (name === undefined || !(name in walk.defs)) {
    throw invalidInput(
      walk.provider,
      `${path}.$ref`,
      'must point into the root $defs or definitions (Gemini takes no $ref; local ones are inlined)',
    )
  }
  if (walk.inlining.includes(name)) {
    throw unsupportedInput(
      walk.provider,
      `${path}.$ref`,
      `recursive schemas ($ref "${ref}" refers to itself)`,
    )
  }
  return convert(walk.defs[name], path, { ...walk, inlining: [...walk.inlining, name] })
}

function convertAnyOf(value: unknown, path: string, walk: Walk): GeminiSchema {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidInput(walk.provider, `${path}.anyOf`, 'must be a non-empty array of schemas')
  }
  // Optional<X> arrives as anyOf [X, {type: null}]; Gemini says the same with `nullable`.
  const options = value.filter((option) => !isNullSchema(option))
  const out: GeminiSchema = options.length < value.length ? { nullable: true } : {}
  if (options.length === 1) return { ...convert(options[0], `${path}.anyOf[0]`, walk), ...out }
  out.anyOf = options.map((option, i) => convert(option, `${path}.anyOf[${i}]`, walk))
  return out
}

function convertType(value: unknown, path: string, walk: Walk): GeminiSchema {
  const names = Array.isArray(value) ? value : [value]
  const nonNull = names.filter((name) => name !== 'null')
  if (nonNull.length > 1) {
    throw unsupportedInput(walk.provider, `${path}.type`, 'a list of several types (use anyOf)')
  }
  const name = nonNull[0] ?? 'null'
  const type = typeof name === 'string' ? geminiTypes[name] : undefined
  if (!type)
    throw invalidInput(walk.provider, `${path}.type`, `is not a JSON Schema type: ${JSON.stringify(name)}`)
  return nonNull.length < names.length && nonNull.length > 0 ? { type, nullable: true } : { type }
}

/** Gemini's enum is string[]; `null` in the list is its `nullable`. */
function convertEnum(values: unknown[], path: string, walk: Walk): GeminiSchema {
  const out: GeminiSchema = {}
  const strings: string[] = []
  for (const value of values) {
    if (value === null) out.nullable = true
    else if (typeof value === 'string') strings.push(value)
    else {
      throw unsupportedInput(walk.provider, path, `non-string enum values (got ${JSON.stringify(value)})`)
    }
  }
  out.enum = strings
  return out
}

function convertKeyword(key: string, value: unknown, path: string, walk: Walk, out: GeminiSchema): void {
  if (keptKeywords.has(key)) {
    out[key] = value
    return
  }
  if (droppedKeywords.has(key)) return
  switch (key) {
    case 'type':
      Object.assign(out, convertType(value, path, walk))
      return
    case 'properties': {
      if (!isObject(value)) throw invalidInput(walk.provider, `${path}.properties`, 'must be an object')
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, schema]) => [
          name,
          convert(schema, `${path}.properties.${name}`, walk),
        ]),
      )
      return
    }
    case 'items':
      if (Array.isArray(value)) {
        throw unsupportedInput(
          walk.provider,
          `${path}.items`,
          'tuple `items` (a list of schemas; use one schema)',
        )
      }
      out.items = convert(value, `${path}.items`, walk)
      return
    case 'enum':
      if (!Array.isArray(value)) throw invalidInput(walk.provider, `${path}.enum`, 'must be an array')
      Object.assign(out, convertEnum(value, `${path}.enum`, walk))
      return
    case 'const':
      Object.assign(out, convertEnum([value], `${path}.const`, walk))
      return
    case 'additionalProperties':
      // Gemini generates only the properties a schema declares, which is what `false` asks for
      // (and OpenAI strict mode requires it on every object); `true` adds nothing either.
      if (typeof value === 'boolean') return
      refuse(walk, `${path}.additionalProperties`, key)
      return
    default:
      refuse(walk, `${path}.${key}`, key)
  }
}

function convert(node: unknown, path: string, walk: Walk): GeminiSchema {
  if (!isObject(node)) throw invalidInput(walk.provider, path, 'must be a JSON Schema object')
  const { $ref, allOf, anyOf, ...rest } = node
  // $ref, a single allOf and anyOf give the base; the node's own keywords win over it, as
  // `{"$ref": ..., "description": ...}` means "that schema, described here".
  let base: GeminiSchema = {}
  if ($ref !== undefined) base = { ...base, ...inlineRef($ref, path, walk) }
  if (allOf !== undefined) {
    if (!Array.isArray(allOf) || allOf.length !== 1) refuse(walk, `${path}.allOf`, 'allOf')
    base = { ...base, ...convert(allOf[0], `${path}.allOf[0]`, walk) }
  }
  if (anyOf !== undefined) base = { ...base, ...convertAnyOf(anyOf, path, walk) }
  const own: GeminiSchema = {}
  for (const [key, value] of Object.entries(rest)) convertKeyword(key, value, path, walk, own)
  return { ...base, ...own }
}

/** The Gemini Schema for a JSON Schema; throws a 400 naming the path for what Gemini cannot express. */
export function toGeminiSchema(schema: unknown, target: SchemaTarget): GeminiSchema {
  if (isObject(schema) && '$defs' in schema && !isObject(schema.$defs)) {
    throw invalidInput(target.provider, `${target.param}.$defs`, 'must be an object')
  }
  const root = isObject(schema) ? schema : {}
  const defs = {
    ...(isObject(root.definitions) ? root.definitions : {}),
    ...(isObject(root.$defs) ? root.$defs : {}),
  }
  return convert(schema, target.param, { ...target, defs, inlining: [] })
}
