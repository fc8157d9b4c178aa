// `watch: true`: a change of the config file reloads it, whether the editor rewrites the file in place
// or renames a new one over it; a save is one reload, and a touch that changes nothing is none.
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, onTestFinished } from 'vitest'
import { watchConfigFile } from '../plugins/runtime/watch.js'
import { buildFileApp, chat, linesWith, withMaster, writeConfigFile } from './reload-helpers.js'

const debounceMs = 40
/** Comfortably past the debounce on a loaded 2-core machine, for "nothing happened" checks. */
const quietMs = 400

function watched() {
  const path = join(mkdtempSync(join(tmpdir(), 'anygate-watch-')), 'anygate.yaml')
  writeFileSync(path, 'a: 1\n')
  let changes = 0
  const watcher = watchConfigFile(path, () => changes++, { debounceMs })
  onTestFinished(() => watcher.close())
  return { path, changes: () => changes, watcher }
}

describe('watchConfigFile', () => {
  it('reports a rename-replace once, and keeps hearing the new file afterwards', async () => {
    const file = watched()
    writeConfigFile(file.path, 'a: 2\n')
    await expect.poll(file.changes).toBe(1)
    writeFileSync(file.path, 'a: 3\n')
    await expect.poll(file.changes).toBe(2)
  })

  it('debounces a burst of writes into one change', async () => {
    const file = watched()
    for (let i = 0; i < 5; i++) writeFileSync(file.path, `a: ${10 + i}\n`)
    await expect.poll(file.changes).toBe(1)
    await sleep(quietMs)
    expect(file.changes()).toBe(1)
  })

  it('ignores a touch, a neighbour file and anything after close', async () => {
    const file = watched()
    utimesSync(file.path, new Date(), new Date())
    writeFileSync(join(file.path, '..', 'other.yaml'), 'b: 1\n')
    await sleep(quietMs)
    expect(file.changes()).toBe(0)
    file.watcher.close()
    writeFileSync(file.path, 'a: 4\n')
    await sleep(quietMs)
    expect(file.changes()).toBe(0)
  })
})

describe('watch: true', () => {
  const mapping = (upstream: string) =>
    withMaster({
      providers: { mock: { type: 'mock' } },
      models: [{ name: 'chat', targets: [{ provider: 'mock', model: upstream }] }],
    })

  it('reloads on a save, and keeps the running config when the saved file is invalid', async () => {
    const gateway = await buildFileApp(mapping('echo'), { watchDebounceMs: debounceMs })
    const servedBy = async () => (await chat(gateway.app, 'chat')).headers['x-anygate-model']
    gateway.write(mapping('fixed'))
    await expect.poll(servedBy).toBe('fixed')
    expect(linesWith(gateway.logs, 'config reloaded')).toEqual([
      expect.objectContaining({ trigger: 'watch', generation: 2 }),
    ])

    writeFileSync(gateway.path, 'models: [{ name: chat }]\n')
    await expect
      .poll(() => linesWith(gateway.logs, 'config reload refused: the running config is kept'))
      .toEqual([
        expect.objectContaining({
          trigger: 'watch',
          problems: [expect.stringContaining('models[0].targets')],
        }),
      ])
    expect(await servedBy()).toBe('fixed')
  })
})
