// fast-check arbitraries from the JSON Schemas in the generated OpenAPI document, so the fuzzer
// follows every route's TypeBox schema as it changes. No library turns JSON Schema into fast-check
// arbitraries for the keywords TypeBox emits (the known ones target Zod or io-ts), so this covers
// the subset our schemas use: $ref, anyOf/oneOf/allOf, const/enum, object/array/string/number/
// integer/boolean/null. Generated values are close to valid; mutate() then breaks them.
import fc from 'fast-check'

export interface JsonSchema {
  $ref?: string
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
}

export type Components = Record<string, JsonSchema>

const maxDepth = 4

function resolve(schema: JsonSchema, components: Components): JsonSchema {
  let current = schema
  for (let hops = 0; current.$ref && hops < 10; hops++) {
    const name = current.$ref.split('/').pop() ?? ''
    current = components[name] ?? {}
  }
  return current
}

function forType(
  type: string,
  schema: JsonSchema,
  components: Components,
  depth: number,
  overrides: Overrides,
) {
  switch (type) {
    case 'object':
      return objectArbitrary(schema, components, depth, overrides)
    case 'array': {
      if (depth >= maxDepth || !schema.items) return fc.constant([])
      const min = Math.min(schema.minItems ?? 0, 3)
      return fc.array(arbitraryFor(schema.items, components, depth + 1, overrides), {
        minLength: min,
        maxLength: Math.max(min, Math.min(schema.maxItems ?? 3, 3)),
      })
    }
    case 'string':
      return fc.string({ minLength: Math.min(schema.minLength ?? 0, 8), maxLength: 16 })
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -5, max: schema.maximum ?? 5000 })
    case 'number':
      return fc.double({ min: schema.minimum ?? -10, max: schema.maximum ?? 10, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** Field name → arbitrary used instead of the schema's, e.g. `model` biased to a served model. */
export type Overrides = Record<string, fc.Arbitrary<unknown>>

function objectArbitrary(schema: JsonSchema, components: Components, depth: number, overrides: Overrides) {
  if (depth >= maxDepth || !schema.properties) return fc.constant({})
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, property] of Object.entries(schema.properties)) {
    shape[name] = overrides[name] ?? arbitraryFor(property, components, depth + 1, overrides)
  }
  const required = (schema.required ?? []).filter((key) => key in shape)
  // A request with twenty optional fields each set at random is almost never valid as a whole:
  // keep the required ones and at most three others, so valid-ish bodies get past validation.
  return fc.record(shape, { requiredKeys: required }).chain((value) => {
    const optional = Object.keys(value).filter((key) => !required.includes(key))
    return fc.subarray(optional, { maxLength: Math.min(3, optional.length) }).map((kept) => {
      const picked: Record<string, unknown> = {}
      for (const key of [...required, ...kept]) picked[key] = value[key as keyof typeof value]
      return picked
    })
  })
}

export function arbitraryFor(
  raw: JsonSchema,
  components: Components,
  depth = 0,
  overrides: Overrides = {},
): fc.Arbitrary<unknown> {
  const schema = resolve(raw, components)
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives && alternatives.length > 0)
    return fc.oneof(...alternatives.map((s) => arbitraryFor(s, components, depth + 1, overrides)))
  if (schema.allOf && schema.allOf.length > 0)
    return arbitraryFor(schema.allOf[0]!, components, depth, overrides)
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []
  if (types.length === 0) {
    return schema.properties
      ? objectArbitrary(schema, components, depth, overrides)
      : fc.jsonValue({ maxDepth: 2 })
  }
  return fc.oneof(...types.map((type) => forType(type, schema, components, depth, overrides)))
}

/** Values of the wrong kind, hostile keys and sizes: what a mutation puts in place of a field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(null),
  fc.constant(''),
  fc.constant(-1),
  fc.constant(1e308),
  fc.constant('x'.repeat(300_000)),
  fc.constant({ __proto__: { polluted: true } }),
  fc.constant(
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
  ),
  fc.constant(JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`)),
  fc.constant({ toString: 'no', valueOf: 'no', hasOwnProperty: 'no' }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
)

/** A copy of `value` with one field (at any depth) replaced, removed, or a hostile key added. */
export function mutate(value: unknown): fc.Arbitrary<unknown> {
  const paths: string[][] = []
  const walk = (node: unknown, path: string[]) => {
    paths.push(path)
    if (node && typeof node === 'object' && path.length < 6) {
      for (const key of Object.keys(node)) walk((node as Record<string, unknown>)[key], [...path, key])
    }
  }
  walk(value, [])
  return fc
    .record({
      path: fc.constantFrom(...paths),
      action: fc.constantFrom('replace', 'delete', 'add-key'),
      replacement: hostileValue,
      key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'extra_field', ''),
    })
    .map(({ path, action, replacement, key }) => {
      const copy = JSON.parse(JSON.stringify(value ?? null)) as unknown
      if (path.length === 0) return action === 'replace' ? replacement : copy
      let parent = copy as Record<string, unknown>
      for (const step of path.slice(0, -1)) parent = parent[step] as Record<string, unknown>
      const last = path[path.length - 1]!
      if (action === 'delete') delete parent[last]
      else if (action === 'replace') parent[last] = replacement
      else if (parent[last] && typeof parent[last] === 'object') {
        // defineProperty: a plain assignment to __proto__ would set the prototype, not add a key.
        Object.defineProperty(parent[last], key, { value: replacement, enumerable: true })
      }
      return copy
    })
}
