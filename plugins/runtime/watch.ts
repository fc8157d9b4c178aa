// `watch: true`: reload when the config file changes. The folder is watched rather than the file:
// editors that save by writing a temporary file and renaming it over the old one (vim, most IDEs),
// and Kubernetes ConfigMaps that swap a symlinked folder, replace the watched inode, after which a
// watch on the file itself hears nothing more. Events are debounced (one save is several events) and
// a reload is asked for only when the content changed, so a touch or a neighbour's write does not.
import { createHash } from 'node:crypto'
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface ConfigWatcherOptions {
  /** Quiet time after the last event before the file is read. */
  debounceMs?: number
  onError?: (err: Error) => void
}

export interface ConfigWatcher {
  close(): void
}

/** The content's digest; null while the file is missing (between the unlink and the rename). */
function fingerprint(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex')
  } catch {
    return null
  }
}

export function watchConfigFile(
  path: string,
  onChange: () => void,
  options: ConfigWatcherOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 250
  let last = fingerprint(path)
  let timer: NodeJS.Timeout | undefined
  const check = () => {
    timer = undefined
    const now = fingerprint(path)
    if (now === null || now === last) return
    last = now
    onChange()
  }
  const file = basename(path)
  let watcher: FSWatcher
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      // Another file of the folder only matters when it may be the file's target (a symlinked
      // `..data` folder); the fingerprint drops the rest.
      if (name !== null && name !== file && !name.startsWith('..')) return
      clearTimeout(timer)
      timer = setTimeout(check, debounceMs)
      timer.unref()
    })
  } catch (err) {
    options.onError?.(err as Error)
    return { close() {} }
  }
  watcher.on('error', (err) => options.onError?.(err))
  return {
    close() {
      clearTimeout(timer)
      watcher.close()
    },
  }
}
