// The usage log's writer and config: a slow destination costs dropped (and counted) records, never
// memory or a thrown error; a failed one stops the writer quietly; close flushes. Config errors name
// their path, at load (a bad regex) or at startup (a file that can't be opened).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { ConfigError } from '../config/load.js'
import { openUsageDestination, UsageLogWriter } from '../plugins/usage-log/writer.js'
import { configProblems, mockOnly, testConfig } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'

/** A destination that takes each write only when the test says so. */
function slowSink() {
  const lines: string[] = []
  const pending: (() => void)[] = []
  const stream = new Writable({
    highWaterMark: 1,
    write(chunk, _encoding, callback) {
      pending.push(() => {
        lines.push(chunk.toString())
        callback()
      })
    },
  })
  const release = () => {
    while (pending.length > 0) pending.shift()!()
  }
  return { stream, lines, release }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'anygate-usage-'))
  closeAfterTest(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('UsageLogWriter', () => {
  it('drops and counts records beyond its buffer instead of queueing them, then catches up', async () => {
    const sink = slowSink()
    const drops: number[] = []
    const writer = new UsageLogWriter(sink.stream, 100, { onDrop: (total) => drops.push(total) })
    const record = { n: 0, pad: 'x'.repeat(30) } // 41 bytes a line
    expect(writer.write({ ...record, n: 1 })).toBe(true)
    expect(writer.write({ ...record, n: 2 })).toBe(true)
    expect(writer.write({ ...record, n: 3 })).toBe(false)
    expect(writer.write({ ...record, n: 4 })).toBe(false)
    expect(writer.stats()).toEqual({ written: 2, dropped: 2 })
    expect(drops).toEqual([1, 2])

    const flushed = writer.flush()
    for (let i = 0; i < 5 && sink.lines.length < 2; i++) {
      sink.release()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await flushed
    expect(sink.lines.map((line) => JSON.parse(line).n)).toEqual([1, 2])
    expect(writer.write({ ...record, n: 5 })).toBe(true)
    const closed = writer.close()
    for (let i = 0; i < 5 && sink.lines.length < 3; i++) {
      sink.release()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await closed
    expect(sink.lines.map((line) => JSON.parse(line).n)).toEqual([1, 2, 5])
    expect(sink.lines.every((line) => line.endsWith('}\n'))).toBe(true)
    // Closed: later records are dropped, not thrown.
    expect(writer.write(record)).toBe(false)
    expect(writer.stats()).toEqual({ written: 3, dropped: 3 })
  })

  it('stops quietly when the destination fails', async () => {
    const errors: Error[] = []
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('EIO: disk gone'))
      },
    })
    const writer = new UsageLogWriter(broken, 1024, { onError: (err) => errors.push(err) })
    expect(writer.write({ a: 1 })).toBe(true)
    await writer.flush()
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors.map((e) => e.message)).toEqual(['EIO: disk gone'])
    expect(writer.write({ a: 2 })).toBe(false)
    await writer.close()
    expect(writer.stats()).toEqual({ written: 1, dropped: 1 })
  })

  it('appends to a file, and close writes what is queued', async () => {
    const file = join(tempDir(), 'usage.jsonl')
    const first = new UsageLogWriter(openUsageDestination(file, '/'), 1 << 20)
    first.write({ run: 1 })
    await first.close()
    const second = new UsageLogWriter(openUsageDestination('usage.jsonl', join(file, '..')), 1 << 20)
    for (let i = 0; i < 100; i++) second.write({ run: 2, i })
    await second.close()
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    expect(lines).toHaveLength(101)
    expect(JSON.parse(lines[0]!)).toEqual({ run: 1 })
    expect(JSON.parse(lines[100]!)).toEqual({ run: 2, i: 99 })
  })

  it('refuses a file it cannot open with a config error naming the setting', async () => {
    const missing = join(tempDir(), 'no-such-folder', 'usage.jsonl')
    let error: unknown
    try {
      openUsageDestination(missing, '/')
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      `logging.usage.destination: cannot open ${missing} for appending (ENOENT); create its folder or choose another path`,
    ])
    const config = testConfig({ ...mockOnly, logging: { usage: { enabled: true, destination: missing } } })
    await expect(buildApp(config, { logger: false })).rejects.toThrow(
      /logging\.usage\.destination: cannot open/,
    )
  })
})

describe('logging config', () => {
  it('is off by default, with the documented defaults', async () => {
    const config = testConfig(mockOnly)
    expect(config.logging).toEqual({
      usage: { enabled: false, destination: 'stdout', buffer_bytes: 4 * 1024 * 1024 },
      bodies: false,
      max_body_bytes: 64 * 1024,
      redact: { builtin: ['email', 'card', 'api_key', 'bearer'], patterns: [], replacement: '[redacted]' },
    })
    const app = await buildApp(config, { logger: false })
    closeAfterTest(() => app.close())
    expect(app.usageLog).toBeNull()
  })

  it('refuses an invalid regular expression, an unknown rule and unknown keys, by path', () => {
    expect(
      configProblems({
        ...mockOnly,
        logging: {
          usage: { enabled: true, destinaton: 'x' },
          redact: { patterns: ['ok-\\d+', '(unclosed'], builtin: ['email', 'phone'] },
          max_body_bytes: 10,
        },
      }),
    ).toEqual([
      'logging.usage.destinaton: unexpected property',
      'logging.max_body_bytes: expected integer to be greater or equal to 256',
      'logging.redact.builtin[1]: must be one of email, card, api_key, bearer',
      'logging.redact.patterns[1]: must be a valid JavaScript regular expression',
    ])
  })
})
