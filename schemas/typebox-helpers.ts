import { type Static, type TSchema, type TUnion, Type } from '@sinclair/typebox'

/** `T | null`, as the OpenAI spec writes `anyOf: [T, {type: null}]`. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * A tagged union validated with Ajv's `discriminator` keyword: only the branch named by the tag is
 * checked, so an error points at the real mistake instead of listing every branch. TypeBox has no
 * discriminator helper, hence the Unsafe wrapper that keeps the static type of the union.
 */
export function TaggedUnion<T extends TSchema[]>(tag: string, variants: [...T], options: object = {}) {
  return Type.Unsafe<Static<TUnion<T>>>({
    type: 'object',
    oneOf: variants,
    discriminator: { propertyName: tag },
    ...options,
  })
}

/** An object that keeps fields it does not declare: new OpenAI fields pass through untouched. */
export const OpenObject: typeof Type.Object = ((properties: never, options?: object) =>
  Type.Object(properties, { additionalProperties: true, ...options })) as typeof Type.Object
