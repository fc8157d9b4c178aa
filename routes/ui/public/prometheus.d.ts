// Types of prometheus.js for the TypeScript tests; the browser loads the .js alone.
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
export interface Bucket {
  le: number
  count: number
}
export type LabelFilter = (labels: Record<string, string>) => boolean

export function parseExposition(text: string): Sample[]
export function sumOf(samples: Sample[], name: string, filter?: LabelFilter): number
export function sumBy(
  samples: Sample[],
  name: string,
  label: string,
  filter?: LabelFilter,
): Map<string, number>
export function histogramBuckets(samples: Sample[], name: string, filter?: LabelFilter): Bucket[]
export function histogramQuantile(q: number, buckets: Bucket[]): number
export function quantileBucket(q: number, buckets: Bucket[]): [number, number] | null
export function bucketIncrease(current: Bucket[], previous: Bucket[] | null | undefined): Bucket[]
export function counterRate(current: number, previous: number | undefined, seconds: number): number | null
