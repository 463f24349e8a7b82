/**
 * Checks of rendered Kubernetes objects (deploy/kustomize.ts renders them), for
 * deploy/manifests.test.ts. Each check is a function of the objects that returns its problems,
 * one line each, empty when there are none, so a test asserts both that a real overlay has none
 * and that a broken variant of it is caught.
 */
import { ScaledObject, TriggerAuthentication, type IScaledObject, type ITriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { QueueKeys } from "bullmq";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Ingress, NetworkPolicy, type INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Secret, Service, type IContainer, type IPodSpec, type IPodTemplateSpec } from "kubernetes-models/v1";
import { configSchema, LIBRARY_ENV, loadConfig, type FacetConfig } from "../shared/config/config.js";
import { DESCRIBE_JOB_OPTIONS, DESCRIBE_QUEUE, SUSPECT_QUEUE } from "../shared/queue/describe-queue.js";
import type { K8sObject } from "./kustomize.js";

// ---------------------------------------------------------------- schemas

type Validatable = { validate(): void };
const model =
  <T>(Model: new (data: T) => Validatable) =>
  (data: unknown): Validatable =>
    new Model(data as T);

/** Every kind Facet's manifests may contain, by `apiVersion/kind`, with its model (kubernetes-models). */
const MODELS: Readonly<Record<string, (data: unknown) => Validatable>> = {
  "v1/ConfigMap": model(ConfigMap),
  "v1/Secret": model(Secret),
  "v1/Service": model(Service),
  "apps/v1/Deployment": model(Deployment),
  "batch/v1/Job": model(Job),
  "networking.k8s.io/v1/Ingress": model(Ingress),
  "networking.k8s.io/v1/NetworkPolicy": model(NetworkPolicy),
  "policy/v1/PodDisruptionBudget": model(PodDisruptionBudget),
  "keda.sh/v1alpha1/ScaledObject": model(ScaledObject),
  "keda.sh/v1alpha1/TriggerAuthentication": model(TriggerAuthentication),
};

const nameOf = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/**
 * kustomize wraps a long base64 value over several lines, which the API server reads as one
 * (Go's base64 decoder skips line breaks) but the schema's `byte` format refuses: joined first.
 */
function unwrapSecretData(secret: K8sObject): K8sObject {
  const data = (secret.data as Record<string, string> | undefined) ?? {};
  return { ...secret, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.replace(/[\r\n]/g, "")])) };
}

/**
 * Each object validated against its kind's OpenAPI schema, offline. A kind not listed in MODELS
 * is a problem: nothing may reach a cluster unchecked. (The schemas check types, required fields
 * and formats; like the API server without strict field validation, they let unknown fields pass.)
 */
export function schemaProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const create = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!create) {
      problems.push(`${nameOf(o)}: no schema for ${o.apiVersion} ${o.kind} (deploy/manifest-checks.ts lists the kinds Facet uses)`);
      continue;
    }
    try {
      create(o.kind === "Secret" ? unwrapSecretData(o) : o).validate();
    } catch (error) {
      problems.push(`${nameOf(o)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- pods and their environment

/** A Deployment's or Job's pod template. */
export interface PodTemplate {
  owner: string;
  kind: "Deployment" | "Job";
  namespace: string | undefined;
  /** The pod's `role` label (worker, producer, serve, migrate). */
  role: string;
  labels: Record<string, string>;
  spec: IPodSpec;
}

export function podTemplates(objects: readonly K8sObject[]): PodTemplate[] {
  return objects.flatMap((o) => {
    if (o.kind !== "Deployment" && o.kind !== "Job") return [];
    const template = (o.spec as { template: IPodTemplateSpec }).template;
    const labels = template.metadata?.labels ?? {};
    return [{ owner: nameOf(o), kind: o.kind, namespace: o.metadata.namespace, role: labels.role ?? "", labels, spec: template.spec ?? { containers: [] } }];
  });
}

/** Each container of a pod, init containers first. */
export function containersOf(pod: PodTemplate): Array<{ container: IContainer; init: boolean; where: string }> {
  return [
    ...(pod.spec.initContainers ?? []).map((container) => ({ container, init: true, where: `${pod.owner} initContainer ${container.name}` })),
    ...pod.spec.containers.map((container) => ({ container, init: false, where: `${pod.owner} container ${container.name}` })),
  ];
}

/** The pod's main container: the one that runs its role. */
function mainContainer(pod: PodTemplate): IContainer | undefined {
  return pod.spec.containers[0];
}

function find(objects: readonly K8sObject[], kind: string, name: string, namespace: string | undefined): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
}

/** A rendered Secret's keys and values (data is base64, stringData plain). */
function secretData(secret: K8sObject | undefined): Record<string, string> | undefined {
  if (!secret) return undefined;
  const data = Object.entries((secret.data as Record<string, string> | undefined) ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]);
  return { ...Object.fromEntries(data), ...((secret.stringData as Record<string, string> | undefined) ?? {}) };
}

function configMapData(configMap: K8sObject | undefined): Record<string, string> | undefined {
  return configMap ? ((configMap.data as Record<string, string> | undefined) ?? {}) : undefined;
}

/**
 * The environment a container starts with: its envFrom sources in order (a later one wins), then
 * its env entries (which win over envFrom), secret references resolved from the rendered Secrets.
 */
export function containerEnv(objects: readonly K8sObject[], pod: PodTemplate, container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef
      ? configMapData(find(objects, "ConfigMap", source.configMapRef.name ?? "", pod.namespace))
      : secretData(find(objects, "Secret", source.secretRef?.name ?? "", pod.namespace));
    for (const [key, value] of Object.entries(data ?? {})) env[`${source.prefix ?? ""}${key}`] = value;
  }
  for (const e of container.env ?? []) {
    const secretRef = e.valueFrom?.secretKeyRef;
    const configMapRef = e.valueFrom?.configMapKeyRef;
    if (secretRef) env[e.name] = secretData(find(objects, "Secret", secretRef.name ?? "", pod.namespace))?.[secretRef.key] ?? "";
    else if (configMapRef) env[e.name] = configMapData(find(objects, "ConfigMap", configMapRef.name ?? "", pod.namespace))?.[configMapRef.key] ?? "";
    else env[e.name] = e.value ?? "";
  }
  return env;
}

/** What Facet's config reads from a container's environment (throws the ConfigError a pod would exit 2 with). */
export function containerConfig(objects: readonly K8sObject[], pod: PodTemplate, container: IContainer): FacetConfig {
  return loadConfig(containerEnv(objects, pod, container));
}

/** The variables a Facet pod may set: configSchema's keys and the libraries' (LIBRARY_ENV). */
export const KNOWN_ENV: ReadonlySet<string> = new Set([...Object.keys(configSchema.in.shape), ...Object.keys(LIBRARY_ENV)]);

/**
 * Every variable each container sets (env entries and the keys of its envFrom sources) is one
 * Facet or its libraries read: a misspelt name would be ignored without a word. Secrets are
 * referenced key by key (secretKeyRef), never a whole Secret through envFrom, so keys meant for
 * others (KEDA's REDIS_ADDRESS) never reach a pod. And each container's environment passes
 * Facet's config validation, as the process's start would.
 */
export function envProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects)) {
    for (const { container, where } of containersOf(pod)) {
      if (container.envFrom?.some((s) => s.secretRef)) problems.push(`${where}: envFrom secretRef passes a whole Secret; reference its keys one by one (env valueFrom.secretKeyRef)`);
      for (const name of Object.keys(containerEnv(objects, pod, container))) {
        if (!KNOWN_ENV.has(name)) problems.push(`${where}: ${name} is neither a key of configSchema (shared/config/config.ts) nor in LIBRARY_ENV`);
      }
      try {
        containerConfig(objects, pod, container);
      } catch (error) {
        problems.push(`${where}: its environment fails Facet's config: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- references

/**
 * Every Secret and ConfigMap a pod or KEDA references is rendered in the same namespace and has
 * the key asked for; every TriggerAuthentication and scale target a ScaledObject names exists.
 */
export function referenceProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const secretKey = (where: string, namespace: string | undefined, name: string | undefined, key: string) => {
    const data = secretData(find(objects, "Secret", name ?? "", namespace));
    if (!data) problems.push(`${where}: Secret ${name} is not rendered in namespace ${namespace ?? "(none)"}`);
    else if (!Object.hasOwn(data, key)) problems.push(`${where}: Secret ${name} has no key ${key} (keys: ${Object.keys(data).sort().join(", ")})`);
  };
  for (const pod of podTemplates(objects)) {
    for (const { container, where } of containersOf(pod)) {
      for (const e of container.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s) secretKey(`${where} env ${e.name}`, pod.namespace, s.name, s.key);
        const c = e.valueFrom?.configMapKeyRef;
        if (c && !Object.hasOwn(configMapData(find(objects, "ConfigMap", c.name ?? "", pod.namespace)) ?? {}, c.key)) {
          problems.push(`${where} env ${e.name}: ConfigMap ${c.name} has no key ${c.key}`);
        }
      }
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !source.configMapRef.optional && !find(objects, "ConfigMap", source.configMapRef.name ?? "", pod.namespace)) {
          problems.push(`${where}: ConfigMap ${source.configMapRef.name} is not rendered`);
        }
        if (source.secretRef && !source.secretRef.optional && !find(objects, "Secret", source.secretRef.name ?? "", pod.namespace)) {
          problems.push(`${where}: Secret ${source.secretRef.name} is not rendered`);
        }
      }
    }
  }
  for (const o of objects.filter((x) => x.kind === "TriggerAuthentication")) {
    for (const ref of (o as unknown as ITriggerAuthentication).spec.secretTargetRef ?? []) secretKey(`${nameOf(o)} parameter ${ref.parameter}`, o.metadata.namespace, ref.name, ref.key);
  }
  for (const o of objects.filter((x) => x.kind === "ScaledObject")) {
    const spec = (o as unknown as IScaledObject).spec;
    if (!find(objects, spec.scaleTargetRef.kind ?? "Deployment", spec.scaleTargetRef.name, o.metadata.namespace)) problems.push(`${nameOf(o)}: scale target ${spec.scaleTargetRef.name} is not rendered`);
    for (const t of spec.triggers) {
      const auth = t.authenticationRef;
      if (auth && !find(objects, auth.kind ?? "TriggerAuthentication", auth.name, auth.kind === "ClusterTriggerAuthentication" ? undefined : o.metadata.namespace)) {
        problems.push(`${nameOf(o)} trigger ${t.name ?? t.type}: ${auth.kind ?? "TriggerAuthentication"} ${auth.name} is not rendered`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- pods' shape

/**
 * How long after SIGTERM a Facet process exits by itself at the latest, beyond
 * SHUTDOWN_DEADLINE_MS: cli/commands/{worker,producer,serve}.ts pass
 * `hardDeadlineMs: SHUTDOWN_DEADLINE_MS + 5000` to onShutdown.
 */
export const HARD_DEADLINE_EXTRA_S = 5;

/** Seconds a preStop hook holds the SIGTERM back: `sleep N` (exec) or the sleep action; 0 without one. */
export function preStopSeconds(container: IContainer): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  return command[0] === "sleep" && command[1] !== undefined ? Number(command[1]) : 0;
}

/**
 * Every Deployment's terminationGracePeriodSeconds (default 30) outlasts its preStop hook plus
 * SHUTDOWN_DEADLINE_MS plus the process's own hard deadline after it: a draining process exits
 * by itself before the kubelet's SIGKILL.
 */
export function shutdownProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects).filter((p) => p.kind === "Deployment")) {
    const container = mainContainer(pod);
    if (!container) continue;
    const deadlineS = containerConfig(objects, pod, container).SHUTDOWN_DEADLINE_MS / 1000;
    const preStop = preStopSeconds(container);
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
    const needed = preStop + deadlineS + HARD_DEADLINE_EXTRA_S;
    if (!(grace > needed)) problems.push(`${pod.owner}: terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + SHUTDOWN_DEADLINE_MS ${deadlineS} s + ${HARD_DEADLINE_EXTRA_S} s = ${needed} s`);
  }
  return problems;
}

const ROLES_WITH_MODELS = new Set(["worker", "serve"]);

/**
 * Every container: requests (cpu, memory) and a memory limit; a read-only root filesystem, no
 * privilege escalation, every capability dropped, a non-root user; /tmp writable, and
 * MODEL_CACHE_DIR writable where models are loaded. Every long-running container: liveness on
 * /healthz and readiness on /readyz, on its declared port named metrics, which is METRICS_PORT
 * (and serve's port http is SERVE_PORT). Init containers and Jobs end by themselves: no probes.
 */
export function containerProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects)) {
    for (const { container, init, where } of containersOf(pod)) {
      const r = container.resources;
      for (const [what, value] of [["requests.cpu", r?.requests?.cpu], ["requests.memory", r?.requests?.memory], ["limits.memory", r?.limits?.memory]] as const) {
        if (value === undefined) problems.push(`${where}: no resources.${what}`);
      }
      const sc = container.securityContext;
      if (sc?.readOnlyRootFilesystem !== true) problems.push(`${where}: securityContext.readOnlyRootFilesystem is not true`);
      if (sc?.allowPrivilegeEscalation !== false) problems.push(`${where}: securityContext.allowPrivilegeEscalation is not false`);
      if (!sc?.capabilities?.drop?.includes("ALL")) problems.push(`${where}: securityContext.capabilities does not drop ALL`);
      if ((sc?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true (pod or container)`);
      const mounted = new Set((container.volumeMounts ?? []).filter((m) => !m.readOnly).map((m) => m.mountPath));
      if (!mounted.has("/tmp")) problems.push(`${where}: /tmp is not a writable volume (the root filesystem is read-only)`);
      const config = containerConfig(objects, pod, container);
      if (!init && ROLES_WITH_MODELS.has(pod.role) && !mounted.has(config.MODEL_CACHE_DIR)) problems.push(`${where}: MODEL_CACHE_DIR ${config.MODEL_CACHE_DIR} is not a writable volume`);
      if (init || pod.kind === "Job") continue;
      const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
      if (ports.get("metrics") !== config.METRICS_PORT) problems.push(`${where}: port metrics is ${ports.get("metrics")}, METRICS_PORT is ${config.METRICS_PORT}`);
      if (pod.role === "serve" && ports.get("http") !== config.SERVE_PORT) problems.push(`${where}: port http is ${ports.get("http")}, SERVE_PORT is ${config.SERVE_PORT}`);
      for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
        const get = container[probe]?.httpGet;
        if (!get) problems.push(`${where}: no ${probe}`);
        else if (get.path !== path || get.port !== "metrics") problems.push(`${where}: ${probe} asks ${get.path} on port ${get.port}, not ${path} on port metrics`);
      }
    }
  }
  return problems;
}

/**
 * Rollout order: the migrate Job runs `facet db migrate` and deletes itself once finished (its
 * template cannot change, so the next release's Job must be a new one); every Deployment's pods
 * first wait in an initContainer running `facet db wait` with the pod's own image.
 */
export function rolloutProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const jobs = objects.filter((o) => o.kind === "Job");
  if (jobs.length !== 1) problems.push(`expected one migrate Job, found ${jobs.length}`);
  for (const job of jobs) {
    const spec = job.spec as { ttlSecondsAfterFinished?: number };
    if (spec.ttlSecondsAfterFinished === undefined) problems.push(`${nameOf(job)}: no ttlSecondsAfterFinished`);
  }
  for (const pod of podTemplates(objects)) {
    const main = mainContainer(pod);
    if (pod.kind === "Job") {
      if (main?.args?.join(" ") !== "db migrate") problems.push(`${pod.owner}: runs '${main?.args?.join(" ")}', not 'db migrate'`);
      continue;
    }
    const wait = (pod.spec.initContainers ?? []).find((c) => c.args?.[0] === "db" && c.args[1] === "wait");
    if (!wait) problems.push(`${pod.owner}: no initContainer running 'facet db wait'`);
    else if (wait.image !== main?.image) problems.push(`${pod.owner}: initContainer ${wait.name} runs ${wait.image}, the pod ${main?.image}`);
  }
  return problems;
}

// ---------------------------------------------------------------- GPU

function quantity(value: string | number | undefined): number {
  return value === undefined ? 0 : Number(value);
}

/**
 * With `gpuWorkers`, the worker requests and limits at least one nvidia.com/gpu and runs
 * EXECUTION_PROVIDER=cuda; every other container (and every container without it) asks for no
 * GPU and runs on the CPU.
 */
export function gpuProblems(objects: readonly K8sObject[], gpuWorkers: boolean): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects)) {
    for (const { container, init, where } of containersOf(pod)) {
      const requested = quantity(container.resources?.requests?.["nvidia.com/gpu"]);
      const limited = quantity(container.resources?.limits?.["nvidia.com/gpu"]);
      const provider = containerConfig(objects, pod, container).EXECUTION_PROVIDER;
      if (gpuWorkers && pod.role === "worker" && !init) {
        if (!(requested >= 1 && limited >= 1)) problems.push(`${where}: nvidia.com/gpu requested ${requested}, limited ${limited}; a GPU worker needs at least 1 of each`);
        if (provider !== "cuda") problems.push(`${where}: EXECUTION_PROVIDER is ${provider}, not cuda`);
      } else {
        if (requested > 0 || limited > 0) problems.push(`${where}: asks for nvidia.com/gpu (requested ${requested}, limited ${limited})`);
        if (!init && provider !== "cpu") problems.push(`${where}: EXECUTION_PROVIDER is ${provider}, not cpu`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- scaling

/** A BullMQ job state whose key the Redis scaler counts, and the Redis type KEDA finds there. */
export const SCALED_KEY_TYPES = { wait: "list", prioritized: "zset", active: "list" } as const;
const SCALED_QUEUES = [DESCRIBE_QUEUE, SUSPECT_QUEUE] as const;

/** The keys BullMQ writes for the queues workers take jobs from, under `prefix`, with their types. */
export function expectedScalerKeys(prefix: string): Map<string, "list" | "zset"> {
  const keys = new QueueKeys(prefix);
  return new Map(SCALED_QUEUES.flatMap((queue) => Object.entries(SCALED_KEY_TYPES).map(([state, type]) => [keys.toKey(queue, state), type] as const)));
}

function workerPod(objects: readonly K8sObject[]): { pod: PodTemplate; config: FacetConfig } | undefined {
  const pod = podTemplates(objects).find((p) => p.owner === "Deployment/facet-worker");
  const container = pod && mainContainer(pod);
  return pod && container ? { pod, config: containerConfig(objects, pod, container) } : undefined;
}

function scaledObjects(objects: readonly K8sObject[]): IScaledObject[] {
  return objects.filter((o) => o.kind === "ScaledObject") as unknown as IScaledObject[];
}

/** The redis triggers of the workers' ScaledObject: name and key. */
export function redisTriggers(objects: readonly K8sObject[]): Array<{ name: string; listName: string }> {
  return scaledObjects(objects).flatMap((s) => s.spec.triggers.filter((t) => t.type === "redis").map((t) => ({ name: t.name ?? "", listName: t.metadata.listName ?? "" })));
}

/** The longest a retried describe job waits in BullMQ's delayed set, ms (no trigger counts that set). */
export function longestRetryDelayMs(): number {
  const backoff = DESCRIBE_JOB_OPTIONS.backoff;
  const attempts = DESCRIBE_JOB_OPTIONS.attempts ?? 1;
  if (backoff === undefined) return 0;
  if (typeof backoff === "number") return backoff;
  const delay = backoff.delay ?? 0;
  // BullMQ's exponential back-off waits delay x 2^(attemptsMade - 1), jitter only shortening it.
  return backoff.type === "exponential" ? delay * 2 ** Math.max(attempts - 2, 0) : delay;
}

/**
 * The workers' ScaledObject: one, on facet-worker, from zero; its target is the jobs one worker
 * holds (the worker's WORKER_CONCURRENCY); the formula adds exactly its triggers; each redis
 * trigger counts a key BullMQ writes for the worker's QUEUE_PREFIX, and together they count
 * every waiting, prioritized and active key of both queues workers take; the cooldown outlasts
 * a batch and the longest retry back-off.
 */
export function scalerProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const scalers = scaledObjects(objects);
  const worker = workerPod(objects);
  if (scalers.length !== 1 || !worker) return [`expected one ScaledObject and the Deployment facet-worker, found ${scalers.length} and ${worker ? 1 : 0}`];
  const spec = (scalers[0] as IScaledObject).spec;
  const where = `ScaledObject/${(scalers[0] as IScaledObject).metadata?.name}`;
  if (spec.scaleTargetRef.name !== "facet-worker") problems.push(`${where}: scales ${spec.scaleTargetRef.name}, not facet-worker`);
  if (spec.minReplicaCount !== 0) problems.push(`${where}: minReplicaCount ${spec.minReplicaCount}; workers scale to zero when idle`);
  const modifiers = spec.advanced?.scalingModifiers;
  const target = Number(modifiers?.target);
  if (target !== worker.config.WORKER_CONCURRENCY) problems.push(`${where}: target ${modifiers?.target} jobs per worker, but a worker holds WORKER_CONCURRENCY ${worker.config.WORKER_CONCURRENCY}`);
  const names = spec.triggers.map((t) => t.name ?? "");
  const used = new Set((modifiers?.formula ?? "").match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
  for (const name of names) if (!used.has(name)) problems.push(`${where}: trigger ${name || "(unnamed)"} is not in the formula '${modifiers?.formula}'`);
  for (const name of used) if (!names.includes(name)) problems.push(`${where}: the formula uses ${name}, which no trigger is named`);
  const redis = redisTriggers(objects);
  if (redis.length > 0) {
    const expected = expectedScalerKeys(worker.config.QUEUE_PREFIX);
    for (const t of redis) {
      if (!expected.has(t.listName)) problems.push(`${where}: trigger ${t.name} counts ${t.listName}, not a key BullMQ writes for QUEUE_PREFIX ${worker.config.QUEUE_PREFIX} (expected one of ${[...expected.keys()].join(", ")})`);
    }
    for (const key of expected.keys()) if (!redis.some((t) => t.listName === key)) problems.push(`${where}: no trigger counts ${key}`);
  }
  const cooldownMs = (spec.cooldownPeriod ?? 300) * 1000;
  const outlast = Math.max(worker.config.BATCH_MAX_WAIT_MS, longestRetryDelayMs());
  if (!(cooldownMs > outlast)) problems.push(`${where}: cooldownPeriod ${cooldownMs / 1000} s must outlast a batch and the longest retry back-off (${outlast / 1000} s)`);
  return problems;
}

/**
 * The Redis scaler sees at most BACKLOG_PER_RUN jobs of a run (the producer keeps no more in
 * Redis), so one run reaches maxReplicaCount workers only if
 * BACKLOG_PER_RUN >= maxReplicaCount x target. (A scaler on the ledger's pending products, the
 * prometheus-scaler component, has no such cap.)
 */
export function backlogProblems(objects: readonly K8sObject[]): string[] {
  const scaler = scaledObjects(objects)[0];
  if (!scaler || redisTriggers(objects).length === 0) return [];
  const producer = podTemplates(objects).find((p) => p.owner === "Deployment/facet-producer");
  const container = producer && mainContainer(producer);
  if (!producer || !container) return ["no Deployment facet-producer"];
  const backlog = containerConfig(objects, producer, container).BACKLOG_PER_RUN;
  const max = scaler.spec.maxReplicaCount ?? 100;
  const target = Number(scaler.spec.advanced?.scalingModifiers?.target);
  return backlog >= max * target
    ? []
    : [`BACKLOG_PER_RUN ${backlog} < maxReplicaCount ${max} x target ${target} = ${max * target}: one run can bring at most ${Math.ceil(backlog / target)} workers`];
}

/** How a Redis key's type is read: ioredis's `type`, or a fake in a test of this check. */
export interface KeyTypes {
  type(key: string): Promise<string>;
}

/**
 * Each redis trigger's key exists in `redis` and has the type KEDA expects to count there (LLEN
 * for a list, ZCARD for a sorted set): against a Redis where BullMQ has queued jobs in every
 * counted state, a trigger on a key BullMQ does not write (a wrong prefix, a misspelt state) finds none.
 */
export async function keyTypeProblems(redis: KeyTypes, triggers: ReadonlyArray<{ name: string; listName: string }>): Promise<string[]> {
  const problems: string[] = [];
  for (const t of triggers) {
    const state = t.listName.slice(t.listName.lastIndexOf(":") + 1) as keyof typeof SCALED_KEY_TYPES;
    const expected = SCALED_KEY_TYPES[state];
    const actual = await redis.type(t.listName);
    if (actual !== expected) problems.push(`trigger ${t.name}: ${t.listName} is ${actual === "none" ? "not in Redis" : `a ${actual}`}, expected ${expected ? `a ${expected}` : "a BullMQ wait, prioritized or active key"}`);
  }
  return problems;
}

// ---------------------------------------------------------------- network policies

type LabelSelector = NonNullable<INetworkPolicy["spec"]>["podSelector"];

/** Whether a label selector (matchLabels and matchExpressions; absent: everything) selects `labels`. */
function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    if (e.operator === "In") return has && (e.values ?? []).includes(value);
    if (e.operator === "NotIn") return !has || !(e.values ?? []).includes(value);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
  return byLabels && byExpressions;
}

/** Ports each role must reach (egress) and may be reached on (ingress). S3 is 443, or MinIO's 9000 in dev. */
const EGRESS_NEEDED: Readonly<Record<string, readonly number[]>> = { worker: [53, 5432, 6379], producer: [53, 5432, 6379], serve: [53, 5432, 6379], migrate: [53, 5432] };
const OBJECT_STORE_PORTS = [443, 9000];
const EGRESS_ALLOWED: Readonly<Record<string, readonly number[]>> = {
  worker: [53, 5432, 6379, ...OBJECT_STORE_PORTS],
  producer: [53, 5432, 6379, ...OBJECT_STORE_PORTS],
  serve: [53, 5432, 6379, ...OBJECT_STORE_PORTS],
  migrate: [53, 5432],
};
const INGRESS_ALLOWED: Readonly<Record<string, readonly number[]>> = { worker: [9464], producer: [9464], serve: [8080, 9464], migrate: [] };

/**
 * Every Facet pod is under a default-deny policy (Ingress and Egress, no rule); the rules that
 * select it each name their peers and ports (none allows everything); its egress reaches only
 * DNS, Postgres, Redis and the object store (the migrate Job only DNS and Postgres), and what its
 * role needs of them; it accepts connections only on its metrics port (and serve on its API's).
 */
export function networkProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const policies = objects.filter((o) => o.kind === "NetworkPolicy") as unknown as INetworkPolicy[];
  for (const pod of podTemplates(objects)) {
    const mine = policies.filter((p) => p.spec && p.metadata?.namespace === pod.namespace && selects(p.spec.podSelector, pod.labels));
    const denies = mine.some((p) => p.spec?.policyTypes?.includes("Ingress") && p.spec.policyTypes.includes("Egress") && !p.spec.ingress?.length && !p.spec.egress?.length);
    if (!denies) problems.push(`${pod.owner}: no default-deny NetworkPolicy (Ingress and Egress, no rules) selects its pods`);
    const ports = { egress: new Set<number>(), ingress: new Set<number>() };
    for (const p of mine) {
      for (const [direction, rules] of [["egress", p.spec?.egress ?? []], ["ingress", p.spec?.ingress ?? []]] as const) {
        for (const rule of rules) {
          const peers = "to" in rule ? rule.to : (rule as { from?: unknown[] }).from;
          if (!peers?.length) problems.push(`NetworkPolicy/${p.metadata?.name}: an ${direction} rule without peers allows every address`);
          if (!rule.ports?.length) problems.push(`NetworkPolicy/${p.metadata?.name}: an ${direction} rule without ports allows every port`);
          for (const port of rule.ports ?? []) ports[direction].add(Number(port.port));
        }
      }
    }
    const role = pod.role;
    for (const port of ports.egress) if (!(EGRESS_ALLOWED[role] ?? []).includes(port)) problems.push(`${pod.owner}: egress to port ${port} is allowed; a ${role} needs only ${(EGRESS_ALLOWED[role] ?? []).join(", ")}`);
    for (const port of EGRESS_NEEDED[role] ?? []) if (!ports.egress.has(port)) problems.push(`${pod.owner}: egress to port ${port} is not allowed; a ${role} needs it`);
    if (role !== "migrate" && !OBJECT_STORE_PORTS.some((port) => ports.egress.has(port))) problems.push(`${pod.owner}: no egress to the object store (${OBJECT_STORE_PORTS.join(" or ")})`);
    for (const port of ports.ingress) if (!(INGRESS_ALLOWED[role] ?? []).includes(port)) problems.push(`${pod.owner}: ingress on port ${port} is allowed; a ${role} serves only ${(INGRESS_ALLOWED[role] ?? []).join(", ") || "nothing"}`);
  }
  return problems;
}
