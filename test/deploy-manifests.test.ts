// deploy/k8s/*.yaml, docker-compose.yml and the Dockerfile agree with the gateway: each config they
// carry passes the real loader (config/load.ts), and probes, ports, mounts, secrets, selectors and
// scrape targets all point where that config and the image say the gateway is.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { defaultConfigPath, type LoadedConfig, loadConfigFile } from '../config/load.js'

const repoRoot = join(import.meta.dirname, '..')
const k8sDir = join(repoRoot, 'deploy', 'k8s')

type Labels = Record<string, string>
interface EnvVar {
  name: string
  value?: string
  valueFrom?: { secretKeyRef?: { name: string; key: string } }
}
interface Probe {
  httpGet?: { path: string; port: number | string; scheme?: string }
}
interface Container {
  name: string
  image: string
  args?: string[]
  command?: string[]
  env?: EnvVar[]
  ports?: { name?: string; containerPort: number }[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  volumeMounts?: { name: string; mountPath: string }[]
}
interface PodSpec {
  containers: Container[]
  volumes?: { name: string; configMap?: { name: string } }[]
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }
}
interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Labels }
  data?: Record<string, string>
  stringData?: Record<string, string>
  spec?: {
    replicas?: number
    selector?: Labels | { matchLabels: Labels }
    template?: { metadata: { labels: Labels }; spec: PodSpec }
    ports?: { name?: string; port: number; targetPort?: number | string }[]
    scaleTargetRef?: { apiVersion: string; kind: string; name: string }
    minReplicas?: number
    maxReplicas?: number
  }
}

function readK8sObjects(): { file: string; object: K8sObject }[] {
  return readdirSync(k8sDir)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => {
        expect(doc.errors, file).toEqual([])
        return { file, object: doc.toJS() as K8sObject }
      }),
    )
}

const k8sFiles = readK8sObjects()
const k8s = k8sFiles.map((entry) => entry.object)

function k8sObject(kind: string, name: string): K8sObject {
  const found = k8s.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`deploy/k8s has no ${kind} named ${name}`)
  return found
}

const matches = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value)

/** ENV of the Dockerfile's last stage: what the running image has unless the deployment overrides it. */
function imageEnv(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ')
  const lastStage = text.slice(text.search(/^FROM\s[^\n]*$(?![\s\S]*^FROM\s)/m))
  const env: Record<string, string> = {}
  for (const [, args] of lastStage.matchAll(/^ENV\s+(.*)$/gm)) {
    for (const [, key, value] of args!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env[key!] = value!.replace(/^"|"$/g, '')
  }
  return env
}

/** What server.ts listens on: HOST/PORT from the environment win over the file. */
function listenAddress(config: LoadedConfig, env: Record<string, string>) {
  return { host: env.HOST ?? config.server.host, port: Number(env.PORT ?? config.server.port) }
}

function loadConfigText(text: string, env: Record<string, string>): LoadedConfig {
  const path = join(mkdtempSync(join(tmpdir(), 'anygate-deploy-')), 'anygate.yaml')
  writeFileSync(path, text)
  return loadConfigFile(path, env)
}

const interpolates = (configText: string, name: string) =>
  new RegExp(`\\$\\{${name}(:-[^}]*)?\\}`).test(configText)

describe('the Dockerfile', () => {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
  const embedded = loadConfigFile(defaultConfigPath(), imageEnv())

  it('runs as a non-root user and listens on every interface on the port it exposes', () => {
    const user = [...text.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1]
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
    const { host, port } = listenAddress(embedded, imageEnv())
    expect(host).toBe('0.0.0.0')
    expect(text).toMatch(new RegExp(`^EXPOSE\\s+${port}\\b`, 'm'))
  })

  it('declares a HEALTHCHECK on /health/ready and the production dependencies only', () => {
    expect(text).toMatch(/^HEALTHCHECK\s[\s\S]*\/health\/ready/m)
    expect(text).toMatch(/npm ci --omit=dev/)
  })
})

describe('deploy/k8s', () => {
  const deployment = k8sObject('Deployment', 'anygate')
  const pod = deployment.spec!.template!
  const container = pod.spec.containers.find((c) => c.name === 'anygate')!
  const containerEnv = Object.fromEntries(
    (container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
  )
  const configPath = container.env?.find((e) => e.name === 'ANYGATE_CONFIG')?.value
  const configFlag = container.args?.[(container.args?.indexOf('--config') ?? -1) + 1]
  const secret = k8sObject('Secret', 'anygate-secrets')
  const secretKeys = Object.keys({ ...secret.data, ...secret.stringData })
  const secretRefs = (container.env ?? []).flatMap((e) =>
    e.valueFrom?.secretKeyRef ? [{ env: e.name, ...e.valueFrom.secretKeyRef }] : [],
  )
  // Each secret as a distinct marker, to find where the loaded config put it.
  const secretEnv = Object.fromEntries(secretRefs.map((ref) => [ref.env, `secret:${ref.key}`]))

  const mount = container.volumeMounts?.find((m) => configPath?.startsWith(`${m.mountPath}/`))
  const volume = pod.spec.volumes?.find((v) => v.name === mount?.name)
  const configMap = k8sObject('ConfigMap', volume?.configMap?.name ?? '(no configMap volume)')
  const configText = configMap.data?.[posix.basename(configPath ?? '')] ?? ''
  const env = { ...imageEnv(), ...containerEnv, ...secretEnv }
  const config = loadConfigText(configText, env)
  const { host, port } = listenAddress(config, env)

  it('has a kustomization listing every manifest, with the Deployment image as the one to set', () => {
    const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[]
      images: { name: string }[]
    }
    expect([...kustomization.resources].sort()).toEqual([...new Set(k8sFiles.map((e) => e.file))].sort())
    expect(kustomization.images.map((i) => i.name)).toContain(container.image.split(':')[0])
    for (const object of k8s) {
      expect(object.apiVersion, object.metadata.name).toBeTruthy()
      expect(object.metadata.labels?.['app.kubernetes.io/name'], object.metadata.name).toBe('anygate')
    }
  })

  it('mounts the ConfigMap where ANYGATE_CONFIG (or --config) points, with a config the loader accepts', () => {
    expect(configPath ?? configFlag).toBeDefined()
    if (configPath && configFlag) expect(configFlag).toBe(configPath)
    expect(mount).toBeDefined()
    expect(configText).not.toBe('')
    expect(config.providers.map((p) => p.name)).toContain('mock')
    expect(host).toBe('0.0.0.0')
  })

  it('runs 2+ replicas whose probes hit /health/ready and /health/live on the gateway port', () => {
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2)
    const selector = (deployment.spec!.selector as { matchLabels: Labels }).matchLabels
    expect(matches(selector, pod.metadata.labels)).toBe(true)
    const portOf = (probe: Probe | undefined) => {
      const target = probe?.httpGet?.port
      return typeof target === 'number'
        ? target
        : container.ports?.find((p) => p.name === target)?.containerPort
    }
    expect(container.readinessProbe?.httpGet?.path).toBe('/health/ready')
    expect(container.livenessProbe?.httpGet?.path).toBe('/health/live')
    expect(portOf(container.readinessProbe)).toBe(port)
    expect(portOf(container.livenessProbe)).toBe(port)
    const scheme = config.server.tls ? 'HTTPS' : 'HTTP'
    expect(container.readinessProbe?.httpGet?.scheme ?? 'HTTP').toBe(scheme)
    expect(container.livenessProbe?.httpGet?.scheme ?? 'HTTP').toBe(scheme)
  })

  it('sets resources, runs as non-root, and leaves time for the drain before the kill', () => {
    for (const c of pod.spec.containers) {
      expect(c.resources?.requests?.cpu, c.name).toBeDefined()
      expect(c.resources?.requests?.memory, c.name).toBeDefined()
      expect(c.resources?.limits?.memory, c.name).toBeDefined()
    }
    expect(pod.spec.securityContext?.runAsNonRoot).toBe(true)
    expect(pod.spec.securityContext?.runAsUser).not.toBe(0)
    const preStop = container.lifecycle?.preStop?.exec?.command ?? []
    const preStopMs = preStop[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0
    const graceMs = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000
    expect(graceMs).toBeGreaterThan(preStopMs + config.server.shutdown_timeout_ms)
  })

  it('passes every Secret key as an env var that the config interpolates', () => {
    expect(secretKeys.length).toBeGreaterThan(0)
    for (const ref of secretRefs) {
      expect(ref.name).toBe(secret.metadata.name)
      expect(secretKeys).toContain(ref.key)
    }
    const loaded = JSON.stringify(config)
    for (const key of secretKeys) {
      const ref = secretRefs.find((r) => r.key === key)
      expect(ref, `Secret key ${key} is not passed to the gateway`).toBeDefined()
      expect(interpolates(configText, ref!.env), `the config never reads \${${ref!.env}}`).toBe(true)
      expect(loaded, `${key} does not reach the loaded config`).toContain(`secret:${key}`)
    }
    // The committed Secret carries no key.
    expect(Object.values({ ...secret.data, ...secret.stringData }).every((v) => v === '')).toBe(true)
  })

  it('exposes the named container port through the Service', () => {
    const service = k8sObject('Service', 'anygate')
    expect(matches(service.spec!.selector as Labels, pod.metadata.labels)).toBe(true)
    for (const servicePort of service.spec!.ports!) {
      expect(typeof servicePort.targetPort).toBe('string')
      const named = container.ports?.find((p) => p.name === servicePort.targetPort)
      expect(named?.containerPort).toBe(port)
    }
  })

  it('autoscales the Deployment from 2 replicas and keeps one available through disruptions', () => {
    const hpa = k8s.find((o) => o.kind === 'HorizontalPodAutoscaler')!
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'anygate' })
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!)
    const pdb = k8s.find((o) => o.kind === 'PodDisruptionBudget')!
    const selector = (pdb.spec!.selector as { matchLabels: Labels }).matchLabels
    expect(matches(selector, pod.metadata.labels)).toBe(true)
    const redisPods = k8sObject('Deployment', 'anygate-redis').spec!.template!.metadata.labels
    expect(matches(selector, redisPods)).toBe(false)
  })

  it('uses Redis as the shared store, at the Redis Service', () => {
    expect(config.store.type).toBe('redis')
    const url = new URL(config.store.url!)
    const service = k8sObject('Service', url.hostname)
    const servicePort = service.spec!.ports!.find((p) => p.port === Number(url.port || 6379))
    expect(servicePort).toBeDefined()
    const redis = k8s.find(
      (o) =>
        o.kind === 'Deployment' &&
        matches(service.spec!.selector as Labels, o.spec!.template!.metadata.labels),
    )
    expect(redis).toBeDefined()
    const redisPort = redis!.spec!.template!.spec.containers[0]!.ports?.find(
      (p) => p.name === servicePort!.targetPort || p.containerPort === servicePort!.targetPort,
    )
    expect(redisPort?.containerPort).toBe(6379)
  })
})

describe('docker-compose.yml', () => {
  interface ComposeService {
    build?: string
    image?: string
    environment?: Record<string, string>
    volumes?: string[]
    ports?: string[]
    stop_grace_period?: string
  }
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>
  }
  const services = compose.services
  /** Compose's own interpolation with nothing set in the shell: `${X:-default}` is default. */
  const composeValue = (value: string) =>
    value.replace(/\$\{[A-Za-z0-9_]+(?::?-([^}]*))?\}/g, (_m, fallback?: string) => fallback ?? '')
  const volumes = (service: ComposeService) =>
    (service.volumes ?? []).map((v) => {
      const [source, target] = v.split(':')
      return { source: source!, target: target!, hostPath: resolve(repoRoot, source!) }
    })
  const hostPathOf = (service: ComposeService, path: string) => {
    const volume = volumes(service).find((v) => path === v.target || path.startsWith(`${v.target}/`))
    return volume && join(volume.hostPath, path.slice(volume.target.length))
  }

  const gateway = services.gateway!
  const gatewayEnv = Object.fromEntries(
    Object.entries(gateway.environment ?? {}).map(([key, value]) => [key, composeValue(String(value))]),
  )
  const configFile = hostPathOf(gateway, gatewayEnv.ANYGATE_CONFIG ?? '')
  const env = { ...imageEnv(), ...gatewayEnv }
  const config = loadConfigFile(configFile ?? '(ANYGATE_CONFIG is not mounted)', env)
  const { host, port } = listenAddress(config, env)

  it('runs the gateway, Redis, Prometheus and Grafana', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['gateway', 'redis', 'prometheus', 'grafana']),
    )
    expect(gateway.build).toBe('.')
  })

  it('mounts a gateway config the loader accepts, serving on the published port with Redis', () => {
    expect(configFile && existsSync(configFile)).toBe(true)
    expect(host).toBe('0.0.0.0')
    expect(gateway.ports?.map((p) => Number(p.split(':').at(-1)))).toContain(port)
    expect(config.store.type).toBe('redis')
    const url = new URL(config.store.url!)
    expect(services[url.hostname]?.image).toMatch(/^redis:/)
    expect(Number(url.port || 6379)).toBe(6379)
    const graceSeconds = Number(/^(\d+)s$/.exec(gateway.stop_grace_period ?? '10s')?.[1])
    expect(graceSeconds * 1000).toBeGreaterThan(config.server.shutdown_timeout_ms)
  })

  it('has Prometheus scrape the gateway at gateway:<port><metrics path>', () => {
    const file = hostPathOf(services.prometheus!, '/etc/prometheus/prometheus.yml')!
    const prometheus = parse(readFileSync(file, 'utf8')) as {
      scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[]
    }
    const scrapes = prometheus.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((s) => s.targets.map((t) => `${t}${job.metrics_path ?? '/metrics'}`)),
    )
    expect(config.metrics.enabled).toBe(true)
    expect(config.metrics.auth).toBe('none')
    expect(scrapes).toContain(`gateway:${port}${config.metrics.path}`)
  })

  it('provisions Grafana with that Prometheus and the dashboard file of config/grafana', () => {
    const grafana = services.grafana!
    const provisioning = hostPathOf(grafana, '/etc/grafana/provisioning')!
    const datasources = parse(readFileSync(join(provisioning, 'datasources', 'prometheus.yaml'), 'utf8')) as {
      datasources: { type: string; url: string; isDefault?: boolean }[]
    }
    const source = datasources.datasources.find((d) => d.type === 'prometheus')!
    expect(source.isDefault).toBe(true)
    expect(new URL(source.url).hostname).toBe('prometheus')

    const dashboards = parse(readFileSync(join(provisioning, 'dashboards', 'anygate.yaml'), 'utf8')) as {
      providers: { type: string; options: { path: string } }[]
    }
    const folder = hostPathOf(grafana, dashboards.providers[0]!.options.path)!
    expect(resolve(folder)).toBe(join(repoRoot, 'config', 'grafana'))
    const dashboard = join(folder, 'anygate.json')
    expect(existsSync(dashboard)).toBe(true)
    const home = composeValue(String(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? ''))
    expect(hostPathOf(grafana, home)).toBe(dashboard)
  })
})
