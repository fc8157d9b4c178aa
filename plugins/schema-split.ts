// Ajv compiles a schema into one function with every subschema inlined: for the chat request body
// that is ~290 KB of source, past the bytecode size V8's optimizing compiler accepts, so validation
// ran unoptimized at ~0.75 µs a body (~0.13 µs once split). Large property schemas are moved into
// `$defs` and referenced (with `inlineRefs: false`, each becomes a function of its own), so every
// function stays small enough to optimize. What is validated, and every error (keyword, params,
// instancePath, parentSchema, data), stays as it was: only where the code lives changes.

/** Property schemas at least this long (as JSON) get a function of their own. */
const minHoistedChars = 1000

type Schema = Record<string, unknown>

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

// Keywords whose value is a schema, a list of schemas or a map of them; anything else (const, enum,
// default, examples...) is data and copied untouched.
const schemaKeywords = new Set([
  'items',
  'not',
  'additionalProperties',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
])
const schemaListKeywords = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems'])
const schemaMapKeywords = new Set(['patternProperties', 'dependentSchemas'])

/**
 * A copy of `schema` with its large property schemas (innermost first) moved into `$defs`; the
 * schema itself when it has references or ids of its own, whose resolution a move could change.
 */
export function hoistLargeProperties(schema: unknown): unknown {
  if (!isSchema(schema)) return schema
  const text = JSON.stringify(schema)
  if (text.length < minHoistedChars || /"\$(ref|id|defs|dynamicRef|anchor)"|"definitions"/.test(text))
    return schema
  const defs: Schema = {}
  const copy = (node: unknown): unknown => {
    if (!isSchema(node)) return node
    const out: Schema = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && isSchema(value)) out[key] = mapValues(value, hoisted)
      else if (schemaMapKeywords.has(key) && isSchema(value)) out[key] = mapValues(value, copy)
      else if (schemaListKeywords.has(key) && Array.isArray(value)) out[key] = value.map(copy)
      else if (schemaKeywords.has(key)) out[key] = copy(value)
      else out[key] = value
    }
    return out
  }
  const hoisted = (node: unknown): unknown => {
    const inner = copy(node)
    if (!isSchema(inner) || JSON.stringify(inner).length < minHoistedChars) return inner
    const name = `p${Object.keys(defs).length}`
    defs[name] = inner
    return { $ref: `#/$defs/${name}` }
  }
  const root = copy(schema) as Schema
  return Object.keys(defs).length === 0 ? schema : { ...root, $defs: defs }
}

function mapValues(map: Schema, fn: (value: unknown) => unknown): Schema {
  const out: Schema = {}
  for (const [key, value] of Object.entries(map)) out[key] = fn(value)
  return out
}

/** The part of an Ajv instance the plugin touches. */
interface Compiler {
  compile(schema: unknown, meta?: boolean): unknown
}

/**
 * An Ajv plugin (Fastify's `ajv.plugins`; the instance needs `inlineRefs: false`): every schema
 * Fastify compiles is split first.
 */
export function splitLargeSchemas<T extends Compiler>(ajv: T): T {
  const compile = ajv.compile.bind(ajv)
  ajv.compile = (schema, meta) => compile(hoistLargeProperties(schema), meta)
  return ajv
}
