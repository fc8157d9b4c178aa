// JSON answers passed on unchanged keep the text they were parsed from, so the route can send it
// instead of serializing the same object again. (Streams keep theirs beside the chunks: batch.ts.)
// A symbol key: JSON.stringify skips it, so a value that is re-serialized never carries it along.
const rawJson = Symbol('anygate.rawJson')

type WithRaw = { [rawJson]?: string }

export function attachRawJson<T extends object>(value: T, text: string): T {
  ;(value as WithRaw)[rawJson] = text
  return value
}

/** The text the value was parsed from; a caller that changes the value must not send this text. */
export function rawJsonOf(value: object): string | undefined {
  return (value as WithRaw)[rawJson]
}
