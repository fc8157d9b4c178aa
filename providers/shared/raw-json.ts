// Chunks parsed from an OpenAI-compatible stream keep the text they were parsed from, so the SSE
// encoder can forward it instead of serializing the same object again (half the JSON work per event).
// A symbol key: JSON.stringify skips it, so a chunk that is re-serialized never carries it along.
const rawJson = Symbol('anygate.rawJson')

type WithRaw = { [rawJson]?: string }

export function attachRawJson<T extends object>(value: T, text: string): T {
  ;(value as WithRaw)[rawJson] = text
  return value
}

/** The original text, unless the value was changed after parsing (callers must forget it then). */
export function rawJsonOf(value: object): string | undefined {
  return (value as WithRaw)[rawJson]
}

export function forgetRawJson(value: object): void {
  ;(value as WithRaw)[rawJson] = undefined
}
