// Turns Ajv's first validation error into a sentence in OpenAI's own wording
// ("Missing required parameter: 'messages'.") with the dotted field path as `param`.
import type { FastifySchemaValidationError } from 'fastify'

interface AjvLikeError extends FastifySchemaValidationError {
  parentSchema?: { oneOf?: SchemaLike[]; anyOf?: SchemaLike[] }
  data?: unknown
}
interface SchemaLike {
  type?: string
  const?: unknown
  anyOf?: SchemaLike[]
  properties?: Record<string, SchemaLike>
  items?: SchemaLike
}

export function toFieldPath(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').slice(1)
  if (missing) parts.push(missing)
  return parts
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '')
}

function describe(schema: SchemaLike): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.anyOf) return schema.anyOf.map(describe).join(' or ')
  if (schema.type === 'array' && schema.items?.type) return `an array of ${schema.items.type}s`
  if (schema.type === 'object' && schema.properties?.type?.const !== undefined) {
    return `an object of type ${JSON.stringify(schema.properties.type.const)}`
  }
  if (schema.type === 'null') return 'null'
  const name = schema.type ?? 'value'
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`
}

const isUnion = (e: FastifySchemaValidationError) => e.keyword === 'anyOf' || e.keyword === 'oneOf'

/**
 * Ajv stops at the first failure but a union reports every branch it tried. The deepest error is
 * where the mistake is; at that depth a broken constraint (maximum, minItems...) beats the union's
 * summary, which beats a type or constant mismatch from a branch the value was never meant to match.
 */
export function pickError(errors: FastifySchemaValidationError[]): FastifySchemaValidationError {
  const depth = (e: FastifySchemaValidationError) => e.instancePath.split('/').length
  const deepest = Math.max(...errors.map(depth))
  const candidates = errors.filter((e) => depth(e) === deepest)
  const branchMismatch = (e: FastifySchemaValidationError) => ['type', 'const', 'enum'].includes(e.keyword)
  return (
    candidates.find((e) => !branchMismatch(e) && !isUnion(e)) ??
    // Ajv reports nested unions inside out: the last is the outermost, whose summary is complete.
    candidates.findLast(isUnion) ??
    candidates[0] ??
    errors[0]!
  )
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

export function validationMessage(
  errors: FastifySchemaValidationError[],
  context: string,
): { message: string; param: string | null } {
  const error = pickError(errors) as AjvLikeError
  const params = error.params as Record<string, unknown>
  const missing = error.keyword === 'required' ? String(params.missingProperty) : undefined
  const param = toFieldPath(error.instancePath, missing) || null
  const where = context === 'body' ? '' : ` in ${context}`
  const field = `'${param ?? context}'`
  switch (error.keyword) {
    case 'required':
      return { message: `Missing required parameter: ${field}${where}.`, param }
    case 'type':
      return {
        message: `Invalid type for ${field}${where}: expected ${describe({ type: String(params.type) })}, but got ${typeName(error.data)} instead.`,
        param,
      }
    case 'discriminator': {
      const tag = String(params.tag)
      const allowed = (error.parentSchema?.oneOf ?? [])
        .map((branch) => branch.properties?.[tag]?.const)
        .filter((value) => value !== undefined)
        .map((value) => `'${String(value)}'`)
      const tagPath = toFieldPath(error.instancePath, tag)
      // Not String(): a client-sent object can make that throw (e.g. {"toString": "x"}).
      const got =
        params.tagValue === undefined
          ? 'nothing'
          : typeof params.tagValue === 'string'
            ? `'${params.tagValue}'`
            : typeName(params.tagValue)
      return {
        message: `Invalid value for '${tagPath}'${where}: got ${got}; supported values are ${allowed.join(', ')}.`,
        param: tagPath,
      }
    }
    case 'anyOf':
    case 'oneOf': {
      const branches = error.parentSchema?.anyOf ?? error.parentSchema?.oneOf ?? []
      const expected = branches.map(describe).join(', or ')
      return { message: `Invalid value for ${field}${where}: expected ${expected}.`, param }
    }
    case 'minItems':
      return {
        message: `Invalid ${field}${where}: expected an array with at least ${String(params.limit)} item(s).`,
        param,
      }
    default:
      return { message: `Invalid ${field}${where}: ${error.message ?? 'not valid'}.`, param }
  }
}
