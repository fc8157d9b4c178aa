// Runtime switches for providers (POST /admin/providers/{name}/enable|disable): an operator's
// override of the file's `enabled`, kept until the next reload. Pure: the holder decides what a
// switch needs beyond this (a provider the file disables has no adapter until a runtime registers it).
import type { LoadedConfig } from '../../config/load.js'

export type ProviderOverride = 'enabled' | 'disabled'

export class ProviderToggles {
  readonly #configured = new Map<string, boolean>()
  readonly #overrides = new Map<string, ProviderOverride>()

  constructor(config: Pick<LoadedConfig, 'providers'>) {
    this.reset(config)
  }

  /** A reloaded file: its `enabled` values, and no overrides. */
  reset(config: Pick<LoadedConfig, 'providers'>): void {
    this.#configured.clear()
    this.#overrides.clear()
    for (const provider of config.providers) this.#configured.set(provider.name, provider.enabled)
  }

  has(name: string): boolean {
    return this.#configured.has(name)
  }

  /** What the file says (`auto` already resolved); undefined for a name it does not declare. */
  configured(name: string): boolean | undefined {
    return this.#configured.get(name)
  }

  override(name: string): ProviderOverride | null {
    return this.#overrides.get(name) ?? null
  }

  /** Records the operator's wish; asking for what the file says already clears the override. */
  set(name: string, state: ProviderOverride): void {
    if ((state === 'enabled') === this.#configured.get(name)) this.#overrides.delete(name)
    else this.#overrides.set(name, state)
  }

  enabled(name: string): boolean {
    const override = this.#overrides.get(name)
    return override ? override === 'enabled' : this.#configured.get(name) === true
  }

  /** For the router: a declared provider that is off now, whichever way. */
  isDisabled = (name: string): boolean => this.#configured.has(name) && !this.enabled(name)
}
