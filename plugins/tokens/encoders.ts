// The OpenAI tokenizers, loaded on first use: each BPE table takes ~150-350 ms and tens of MB to
// load, a cost only deployments that limit or price OpenAI-family models by tokens should pay, and
// never at startup. The CommonJS build is required because it loads synchronously, so callers
// (hooks on the hot path) stay synchronous.
import { createRequire } from 'node:module'

export type EncodingName = 'o200k_base' | 'cl100k_base'

interface Encoding {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number
  setMergeCacheSize(size: number): void
}

const requireEncoding = createRequire(import.meta.url)
const loaded = new Map<EncodingName, Encoding>()

// Special-token text ("<|endoftext|>") in a prompt is counted as plain text, as the API does,
// instead of making the tokenizer throw.
const asPlainText = { disallowedSpecial: new Set<string>() }

// The library caches merges per piece (100,000 entries by default); pieces are up to a chunk long
// here, so a smaller cache bounds the memory an attacker's unique prompts can pin.
const mergeCacheEntries = 5000

function encoding(name: EncodingName): Encoding {
  let found = loaded.get(name)
  if (!found) {
    found = requireEncoding(`gpt-tokenizer/cjs/encoding/${name}`) as Encoding
    found.setMergeCacheSize(mergeCacheEntries)
    loaded.set(name, found)
  }
  return found
}

/** Tokens in `text` under the named encoding. Callers bound the length (see estimate.ts). */
export function countWithEncoding(name: EncodingName, text: string): number {
  return encoding(name).countTokens(text, asPlainText)
}

// Which encoding a model uses, from tiktoken's model table
// (https://github.com/openai/tiktoken/blob/main/tiktoken/model.py). Prefixes, so dated snapshots
// ("gpt-4o-2024-08-06") and fine-tunes ("ft:gpt-4o-mini:org::id") match their base.
const o200kModels =
  /^(?:ft:)?(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o\d|gpt-oss|codex|gpt-realtime|gpt-audio|omni-moderation|gpt-image)/
const cl100kModels = /^(?:ft:)?(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-(?:3|ada-002))/

/** The encoding of an OpenAI-family model, or undefined for models the gateway has no tokenizer for. */
export function encodingForModel(model: string): EncodingName | undefined {
  // "<provider>/<model>" names a provider's model directly; the tokenizer depends on the model only.
  const id = model.slice(model.lastIndexOf('/') + 1).toLowerCase()
  if (o200kModels.test(id)) return 'o200k_base'
  if (cl100kModels.test(id)) return 'cl100k_base'
  return undefined
}
