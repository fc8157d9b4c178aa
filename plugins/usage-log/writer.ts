// Writes usage records as JSON lines without ever holding up a request: writes go through a Node
// stream (fs.write on libuv's thread pool, so a slow disk or a full stdout pipe doesn't block the
// event loop), and when more than `maxBufferedBytes` wait to be written, new records are dropped and
// counted instead of queued without bound. A failed destination stops the writer; requests go on.
import { createWriteStream, openSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { ConfigError } from '../../config/load.js'

export interface UsageLogStats {
  written: number
  dropped: number
}

export interface WriterEvents {
  /** Records were dropped because the destination is behind; `total` counts every drop so far. */
  onDrop?(total: number): void
  /** The destination failed; nothing more is written. */
  onError?(err: Error): void
}

export class UsageLogWriter {
  #written = 0
  #dropped = 0
  #pending = 0
  #waiters: (() => void)[] = []
  #failed = false
  #closing: Promise<void> | null = null

  constructor(
    private readonly stream: Writable,
    private readonly maxBufferedBytes: number,
    private readonly events: WriterEvents = {},
  ) {
    stream.on('error', (err) => {
      if (this.#failed) return
      this.#failed = true
      this.events.onError?.(err)
      this.#settle()
    })
  }

  stats(): UsageLogStats {
    return { written: this.#written, dropped: this.#dropped }
  }

  /** Queues one record; returns false when it was dropped. Never throws. */
  write(record: object): boolean {
    if (this.#failed || this.#closing) return this.#drop()
    let line: string
    try {
      line = `${JSON.stringify(record)}\n`
    } catch {
      return this.#drop()
    }
    if (this.stream.writableLength + line.length > this.maxBufferedBytes) return this.#drop()
    this.#pending++
    this.stream.write(line, () => {
      this.#pending--
      this.#settle()
    })
    this.#written++
    return true
  }

  /** Resolves once every record queued so far reached the destination (or the destination failed). */
  flush(): Promise<void> {
    if (this.#pending === 0 || this.#failed) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Writes what is queued, then ends the stream (a file is closed; stdout is left open). */
  close(): Promise<void> {
    this.#closing ??= this.flush().then(
      () =>
        new Promise<void>((resolve) => {
          if (this.#failed || this.stream.destroyed) return resolve()
          this.stream.end(() => resolve())
        }),
    )
    return this.#closing
  }

  #drop(): false {
    this.#dropped++
    this.events.onDrop?.(this.#dropped)
    return false
  }

  #settle(): void {
    if (this.#pending > 0 && !this.#failed) return
    for (const resolve of this.#waiters.splice(0)) resolve()
  }
}

/**
 * The stream for `logging.usage.destination`: stdout, or a file opened for appending now, so a path
 * that can't be written is a config error at startup rather than lost records later.
 */
export function openUsageDestination(destination: string, baseDir: string): Writable {
  if (destination === 'stdout') return createWriteStream('', { fd: 1, autoClose: false })
  const path = resolve(baseDir, destination)
  let fd: number
  try {
    fd = openSync(path, 'a')
  } catch (err) {
    throw new ConfigError([
      `logging.usage.destination: cannot open ${path} for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create its folder or choose another path`,
    ])
  }
  return createWriteStream(path, { fd, flags: 'a', autoClose: true })
}
