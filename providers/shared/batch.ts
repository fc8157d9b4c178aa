// Streams move one upstream read at a time: the events of one body chunk become one batch of
// chunks, and the route writes a batch with one write. Item by item, each async layer (reader,
// translator, router, encoder, Readable) cost promises and microtasks per event, and each event was
// its own chunked write: for a fast upstream, most of a stream's CPU (issue #8).

/** The items of one upstream read, in order; never empty (the router counts the first as the answer). */
export interface Batch<T> {
  readonly items: readonly T[]
  /** texts[i] is items[i] as the JSON text the upstream sent, when it was kept (unchanged since parsing). */
  readonly texts?: readonly string[]
}

/** The end of a stream, one shared object: the plain iterators on the stream path return it. */
export const doneResult: IteratorResult<never, undefined> = { done: true, value: undefined }

/**
 * A batch being filled by a translator: its items, and each item's text when the translator keeps
 * them (one text per item, or none at all).
 */
export interface BatchOut<T> {
  readonly items: T[]
  readonly texts: string[]
}

/**
 * A built-in adapter's stream: item by item as the provider contract types it, and in batches for
 * the routes, which read those instead (batchesOf).
 */
export class BatchStream<T> implements AsyncIterable<T> {
  constructor(readonly batches: AsyncIterable<Batch<T>>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const batch of this.batches) yield* batch.items
  }
}

/** A stream's batches: its own, or one item each for a stream from elsewhere (a plugin, the mock). */
export function batchesOf<T>(stream: AsyncIterable<T>): AsyncIterable<Batch<T>> {
  return stream instanceof BatchStream ? (stream.batches as AsyncIterable<Batch<T>>) : oneByOne(stream)
}

async function* oneByOne<T>(stream: AsyncIterable<T>): AsyncGenerator<Batch<T>> {
  for await (const item of stream) yield { items: [item] }
}
