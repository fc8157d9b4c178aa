// Portkey's open-source gateway (@portkey-ai/gateway) as a peer, when it is installed: it is not a
// dependency, so the bench looks for it at run time and reports "not installed" otherwise. It runs
// as its own process (its start-server script, headless) and reaches the fake upstream through its
// custom-host header, so it proxies the same answers as every other target.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import type { ChildServer } from './child-server.js'
import type { LoadRequest } from './http-load.js'

export const portkeyPackage = '@portkey-ai/gateway'

/** The start-server script of an installed @portkey-ai/gateway, or undefined. */
export function findPortkey(from: string = import.meta.url): string | undefined {
  try {
    const manifest = createRequire(from).resolve(`${portkeyPackage}/package.json`)
    const script = join(dirname(manifest), 'build', 'start-server.js')
    return existsSync(script) ? script : undefined
  } catch {
    return undefined
  }
}

/**
 * What every request to Portkey carries: the provider whose API it speaks and the upstream to call
 * instead of api.openai.com. The key is a placeholder: the fake upstream ignores it.
 */
export function portkeyRequest(upstreamOrigin: string): LoadRequest {
  return {
    headers: {
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstreamOrigin}/v1`,
      authorization: 'Bearer bench-placeholder-key',
    },
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** user + system CPU of a Linux process from /proc, in µs (the child is not ours to ask over IPC). */
async function procCpuMicros(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks / 100) * 1e6 // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN
  }
}

async function procRssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
    return kib === undefined ? Number.NaN : Number(kib) * 1024
  } catch {
    return Number.NaN
  }
}

async function waitUntilAnswering(origin: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`portkey exited (${child.exitCode}) while starting`)
    const client = new Client(origin)
    try {
      const { body } = await client.request({ method: 'GET', path: '/' })
      await body.dump()
      return
    } catch {
      await sleep(100)
    } finally {
      await client.close().catch(() => {})
    }
  }
  throw new Error(`portkey did not answer on ${origin} within ${timeoutMs} ms`)
}

export async function startPortkey(script: string): Promise<ChildServer> {
  const port = await freePort()
  // Its stdout is a banner with a spinner; errors still reach stderr.
  const child = spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const origin = `http://127.0.0.1:${port}`
  try {
    await waitUntilAnswering(origin, child, 15_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    kind: 'portkey',
    origin,
    pid: child.pid ?? -1,
    cpuMicros: () => procCpuMicros(child.pid ?? -1),
    // Not a bench child: no IPC, so memory comes from /proc and there is no event-loop figure.
    vitals: async () => ({
      rssBytes: await procRssBytes(child.pid ?? -1),
      heapUsedBytes: Number.NaN,
      heapTotalBytes: Number.NaN,
      externalBytes: Number.NaN,
      gcForced: false,
    }),
    stats: async () => ({}),
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
