/**
 * deploy/kubernetes, rendered by `kubectl kustomize` and checked without a cluster:
 * - every overlay (dev, prod, gpu, and prod with the prometheus-scaler component) renders, and
 *   every object passes its kind's schema (kubernetes-models, @kubernetes-models/keda);
 * - every variable a pod sets is one Facet (configSchema) or its libraries (LIBRARY_ENV) read,
 *   and passes Facet's config validation; secrets are referenced key by key, and every
 *   reference (pods and KEDA) names a rendered Secret and a key it has;
 * - shutdown fits the grace period; every container has resources, a locked-down security
 *   context and writable /tmp (and model cache); long-running ones have probes on METRICS_PORT;
 *   every Deployment waits for the migrations; the GPU overlay's workers (only) get a GPU and CUDA;
 * - KEDA: the target is a worker's WORKER_CONCURRENCY, the Redis triggers count exactly the keys
 *   BullMQ writes for QUEUE_PREFIX (and, in a real Redis with queued, prioritized and active
 *   jobs, those keys exist with the types KEDA counts), BACKLOG_PER_RUN >= maxReplicaCount x
 *   target, no HorizontalPodAutoscaler anywhere; the Prometheus query counts each running run's
 *   pending products once (promtool, where installed);
 * - network policies: default deny, and only the ports each role needs;
 * - each check catches its fault in a broken variant of an overlay (a kustomize patch).
 * kubectl (with kustomize built in) must be installed; without it the checks are skipped with a message.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { DESCRIBE_QUEUE, redisConnection, SUSPECT_QUEUE } from "../shared/queue/describe-queue.js";
import { startPrivateRedis, type PrivateRedis } from "../test/helpers/redis-server.js";
import { copyKubernetesTree, KUBECTL, KUBERNETES_DIR, render, type K8sObject, type KubernetesTree } from "./kustomize.js";
import {
  backlogProblems, containerConfig, containerProblems, containersOf, envProblems, gpuProblems, keyTypeProblems, networkProblems, podTemplates,
  redisTriggers, referenceProblems, rolloutProblems, scalerProblems, schemaProblems, shutdownProblems,
} from "./manifest-checks.js";

if (!KUBECTL) console.warn("Kubernetes manifest checks skipped: kubectl is missing (it carries kustomize; install kubectl >= 1.27)");
const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));

/** The overlays a platform applies, and prod with the Prometheus scaler (a test-only kustomization). */
const OVERLAYS = ["dev", "prod", "gpu", "prod-prometheus"] as const;
type Overlay = (typeof OVERLAYS)[number];

/** Test-only kustomizations in the temporary tree: prod with the component, and one broken variant per fault. */
const VARIANTS: Record<string, string> = {
  "prod-prometheus": `
resources: [../prod]
components: [../../components/prometheus-scaler]
`,
  "broken-prefix": `
resources: [../dev]
patches:
  - target: { kind: ScaledObject, name: facet-worker }
    patch: |-
      - { op: replace, path: /spec/triggers/0/metadata/listName, value: "facets:describe:wait" }
`,
  "broken-gpu": `
resources: [../gpu]
patches:
  - target: { kind: Deployment, name: facet-worker }
    patch: |-
      - { op: remove, path: /spec/template/spec/containers/0/resources/requests/nvidia.com~1gpu }
  - target: { kind: ConfigMap, name: facet-worker-gpu }
    patch: |-
      - { op: replace, path: /data/EXECUTION_PROVIDER, value: cpu }
`,
  "broken-secret": `
resources: [../dev]
patches:
  - target: { kind: Deployment, name: facet-worker }
    patch: |-
      - { op: replace, path: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/key, value: DATABASE_URI }
  - target: { kind: TriggerAuthentication, name: facet-redis }
    patch: |-
      - { op: replace, path: /spec/secretTargetRef/1/name, value: facet-redis-password }
`,
  "broken-backlog": `
resources: [../prod]
patches:
  - target: { kind: ConfigMap, name: facet-config }
    patch: |-
      - { op: replace, path: /data/BACKLOG_PER_RUN, value: "2000" }
`,
  "broken-env": `
resources: [../dev]
patches:
  - target: { kind: ConfigMap, name: facet-config }
    patch: |-
      - { op: add, path: /data/BATCH_SIZ, value: "64" }
      - { op: replace, path: /data/BATCH_MAX_WAIT_MS, value: "-1" }
  - target: { kind: Deployment, name: facet-producer }
    patch: |-
      - { op: add, path: /spec/template/spec/containers/0/envFrom/-, value: { secretRef: { name: facet-secrets } } }
`,
  "broken-pod": `
resources: [../dev, hpa.yaml]
patches:
  - target: { kind: Deployment, name: facet-worker }
    patch: |-
      - { op: replace, path: /spec/template/spec/terminationGracePeriodSeconds, value: 30 }
      - { op: replace, path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem, value: false }
      - { op: remove, path: /spec/template/spec/containers/0/readinessProbe }
      - { op: remove, path: /spec/template/spec/containers/0/resources/limits }
      - { op: replace, path: /spec/template/spec/containers/0/ports/0/containerPort, value: 9465 }
  - target: { kind: Deployment, name: facet-producer }
    patch: |-
      - { op: remove, path: /spec/template/spec/initContainers }
      - { op: replace, path: /spec/replicas, value: two }
`,
  "broken-network": `
resources: [../dev]
patches:
  - target: { kind: NetworkPolicy, name: facet-default-deny }
    patch: |-
      $patch: delete
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: facet-default-deny }
  - target: { kind: NetworkPolicy, name: facet-allow-redis }
    patch: |-
      - { op: add, path: /spec/egress/-, value: { to: [{ ipBlock: { cidr: 0.0.0.0/0 } }] } }
`,
  "broken-scaler": `
resources: [../gpu]
patches:
  - target: { kind: ScaledObject, name: facet-worker }
    patch: |-
      - { op: replace, path: /spec/advanced/scalingModifiers/target, value: "96" }
      - { op: replace, path: /spec/advanced/scalingModifiers/formula, value: "wait + prioritized + suspect_wait + suspect_prioritized + suspect_active" }
      - { op: replace, path: /spec/cooldownPeriod, value: 10 }
`,
};

/** An object of the HPA kind, which must fail: KEDA makes the workers' HPA, and no other is wanted. */
const STRAY_HPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: facet-worker-cpu }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: facet-worker }
  maxReplicas: 4
`;

let tree: KubernetesTree;
const rendered = new Map<string, K8sObject[]>();
const renderOf = (name: string): K8sObject[] => {
  const objects = rendered.get(name);
  if (!objects) throw new Error(`${name} was not rendered`);
  return objects;
};

function pod(objects: readonly K8sObject[], owner: string) {
  const found = podTemplates(objects).find((p) => p.owner === owner);
  if (!found) throw new Error(`${owner} is not rendered`);
  return found;
}
/** What Facet's config reads in the main container of `owner` (e.g. Deployment/facet-worker). */
function configOf(objects: readonly K8sObject[], owner: string) {
  const p = pod(objects, owner);
  const main = p.spec.containers[0];
  if (!main) throw new Error(`${owner} has no container`);
  return containerConfig(objects, p, main);
}
const images = (objects: readonly K8sObject[]) =>
  Object.fromEntries(podTemplates(objects).flatMap((p) => containersOf(p).map(({ container, where }) => [where, container.image])));
const scaler = (objects: readonly K8sObject[]) => objects.find((o) => o.kind === "ScaledObject") as unknown as IScaledObject;

describe.skipIf(!KUBECTL)("Kubernetes manifests (kubectl kustomize)", () => {
  beforeAll(async () => {
    tree = await copyKubernetesTree();
    for (const [name, kustomization] of Object.entries(VARIANTS)) {
      const dir = await tree.addOverlay(name, `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${kustomization}`);
      if (name === "broken-pod") await writeFile(path.join(dir, "hpa.yaml"), STRAY_HPA);
    }
    for (const name of [...OVERLAYS.filter((o) => !(o in VARIANTS)), ...Object.keys(VARIANTS)]) rendered.set(name, render(path.join(tree.root, "overlays", name)));
  });
  afterAll(async () => {
    await tree?.remove();
  });

  describe.each(OVERLAYS)("%s", (overlay: Overlay) => {
    const objects = () => renderOf(overlay);
    it("renders the roles, the migrate Job and the scaler, each object valid against its schema", () => {
      const names = objects().map((o) => `${o.kind}/${o.metadata.name}`);
      expect(names).toEqual(expect.arrayContaining(["Deployment/facet-worker", "Deployment/facet-producer", "Deployment/facet-serve", "Job/facet-db-migrate", "ScaledObject/facet-worker", "Secret/facet-secrets", "ConfigMap/facet-config"]));
      expect(schemaProblems(objects())).toEqual([]);
    });
    it("sets only variables Facet or its libraries read, valid for Facet's config, secrets key by key", () => expect(envProblems(objects())).toEqual([]));
    it("references only rendered Secrets and ConfigMaps, and keys they have", () => expect(referenceProblems(objects())).toEqual([]));
    it("gives each process time to drain before SIGKILL", () => expect(shutdownProblems(objects())).toEqual([]));
    it("gives every container resources, a locked-down security context, writable /tmp and model cache, probes on METRICS_PORT", () =>
      expect(containerProblems(objects())).toEqual([]));
    it("migrates in a Job and starts no pod before its migrations are applied", () => expect(rolloutProblems(objects())).toEqual([]));
    it(overlay === "gpu" ? "gives the workers (only) a GPU and CUDA" : "asks for no GPU", () => expect(gpuProblems(objects(), overlay === "gpu")).toEqual([]));
    it("scales workers on KEDA from zero, one per WORKER_CONCURRENCY jobs, on BullMQ's own keys", () => expect(scalerProblems(objects())).toEqual([]));
    it("keeps enough of a run's jobs in Redis for the scaler to reach maxReplicaCount", () => expect(backlogProblems(objects())).toEqual([]));
    it("denies by default and opens only the ports each role needs", () => expect(networkProblems(objects())).toEqual([]));
  });

  it("dev: facet:dev, one replica per role, two workers at most, Postgres, Redis and MinIO in the namespace", () => {
    const dev = renderOf("dev");
    expect(new Set(Object.values(images(dev)))).toEqual(new Set(["facet:dev"]));
    for (const name of ["facet-producer", "facet-serve"]) expect((dev.find((o) => o.metadata.name === name && o.kind === "Deployment")?.spec as { replicas: number }).replicas).toBe(1);
    expect(scaler(dev).spec.maxReplicaCount).toBe(2);
    const config = configOf(dev, "Deployment/facet-worker");
    expect(config).toMatchObject({ S3_ENDPOINT: "http://minio:9000", S3_FORCE_PATH_STYLE: true, CATALOGUE_RELATION: "facet_demo.catalogue" });
    expect(new URL(config.DATABASE_URL).hostname).toBe("postgresql");
    expect(new URL(config.REDIS_URL).hostname).toBe("redis");
  });

  it("prod and gpu: images pinned by tag, the CUDA image for GPU workers only, disruption budgets for every role", () => {
    for (const overlay of ["prod", "gpu"] as const) {
      for (const [where, image] of Object.entries(images(renderOf(overlay)))) {
        const gpuWorker = overlay === "gpu" && where.startsWith("Deployment/facet-worker ");
        expect(image, where).toBe(gpuWorker ? "registry.example.com/facet:1.0.0-cuda" : "registry.example.com/facet:1.0.0");
      }
      const budgets = renderOf(overlay).filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata.name);
      expect(budgets.sort()).toEqual(["facet-producer", "facet-serve", "facet-worker"]);
    }
    const gpu = renderOf("gpu");
    const worker = pod(gpu, "Deployment/facet-worker");
    expect(worker.spec.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(worker.spec.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(configOf(gpu, "Deployment/facet-worker")).toMatchObject({ EXECUTION_PROVIDER: "cuda", INFERENCE_THREADS: 1, BATCH_SIZE: 128, WORKER_CONCURRENCY: 384 });
    expect(configOf(gpu, "Deployment/facet-producer")).toMatchObject({ EXECUTION_PROVIDER: "cpu", BATCH_SIZE: 32 });
  });

  it("secrets: every key pods and KEDA read is in the dev file and prod's example, and prod's real file is gitignored", () => {
    const keysOf = (file: string) => readFileSync(path.join(KUBERNETES_DIR, file), "utf8").split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")[0]).sort();
    const referenced = new Set<string>();
    for (const objects of OVERLAYS.map(renderOf)) {
      for (const p of podTemplates(objects)) for (const { container } of containersOf(p)) for (const e of container.env ?? []) if (e.valueFrom?.secretKeyRef) referenced.add(e.valueFrom.secretKeyRef.key);
      for (const o of objects.filter((x) => x.kind === "TriggerAuthentication")) for (const r of (o.spec as { secretTargetRef: Array<{ key: string }> }).secretTargetRef) referenced.add(r.key);
    }
    expect(keysOf("overlays/dev/secrets.dev.env")).toEqual([...referenced].sort());
    expect(keysOf("overlays/prod/secrets.env.example")).toEqual([...referenced].sort());
    const ignored = spawnSync("git", ["check-ignore", "-q", path.join(KUBERNETES_DIR, "overlays/prod/secrets.env")], { cwd: KUBERNETES_DIR });
    expect(ignored.status, "overlays/prod/secrets.env must be gitignored").toBe(0);
  });

  it("no HorizontalPodAutoscaler in any source file or render: KEDA makes the workers' own", () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? files(path.join(dir, f)) : [path.join(dir, f)]));
    const sources = files(KUBERNETES_DIR).filter((f) => /\.ya?ml$/.test(f));
    expect(sources.filter((f) => /^kind:\s*HorizontalPodAutoscaler\b/m.test(readFileSync(f, "utf8")))).toEqual([]);
    for (const overlay of OVERLAYS) expect(renderOf(overlay).filter((o) => o.kind === "HorizontalPodAutoscaler")).toEqual([]);
  });

  describe("the prometheus-scaler component", () => {
    const query = () => {
      const [trigger] = scaler(renderOf("prod-prometheus")).spec.triggers;
      return trigger?.metadata.query ?? "";
    };
    it("replaces the Redis triggers with one on the ledger's pending products and drops the Redis authentication", () => {
      const objects = renderOf("prod-prometheus");
      const spec = scaler(objects).spec;
      expect(spec.triggers.map((t) => [t.type, t.name])).toEqual([["prometheus", "pending"]]);
      expect(spec.triggers[0]?.metadata.serverAddress).toMatch(/^https?:\/\//);
      expect(spec.advanced?.scalingModifiers?.formula).toBe("pending");
      expect(objects.filter((o) => o.kind === "TriggerAuthentication")).toEqual([]);
      expect(query()).toContain('facet_run_products{job="facet-producer", state="pending"}');
    });

    it.skipIf(!PROMTOOL)("counts each running run's pending products once, however many producers export them (promtool)", async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "facet-scaler-query-"));
      try {
        const series = (name: string, labels: string, values: string) => ({ series: `${name}{job="facet-producer",${labels}}`, values });
        const tests = {
          rule_files: [],
          evaluation_interval: "1m",
          tests: [
            {
              interval: "1m",
              input_series: [
                // Two producers export the same ledger: r1 (running, 500 pending) and r2 (paused, 300).
                ...["producer-a", "producer-b"].flatMap((instance) => [
                  series("facet_run_products", `instance="${instance}",run_id="r1",state="pending"`, "500x5"),
                  series("facet_run_products", `instance="${instance}",run_id="r2",state="pending"`, "300x5"),
                  series("facet_run_info", `instance="${instance}",run_id="r1",model_version="1.0.0",mode="apply",state="running"`, "1x5"),
                  series("facet_run_info", `instance="${instance}",run_id="r2",model_version="1.0.0",mode="apply",state="paused"`, "1x5"),
                ]),
              ],
              promql_expr_test: [{ expr: query(), eval_time: "2m", exp_samples: [{ labels: "{}", value: 500 }] }],
            },
            {
              interval: "1m",
              input_series: [series("facet_run_info", 'instance="producer-a",run_id="r3",model_version="1.0.0",mode="apply",state="completed"', "1x5")],
              promql_expr_test: [{ expr: query(), eval_time: "2m", exp_samples: [{ labels: "{}", value: 0 }] }],
            },
          ],
        };
        await writeFile(path.join(dir, "query.test.yml"), JSON.stringify(tests));
        const r = spawnSync(PROMTOOL as string, ["test", "rules", "query.test.yml"], { cwd: dir, encoding: "utf8" });
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the scaler's keys in a real Redis, where BullMQ has queued jobs in every state the triggers count", () => {
    let redis: PrivateRedis;
    let client: Redis;
    beforeAll(async () => {
      redis = await startPrivateRedis();
      client = new Redis(redis.url);
      const prefixes = new Set(OVERLAYS.filter((o) => o !== "prod-prometheus").map((o) => configOf(renderOf(o), "Deployment/facet-worker").QUEUE_PREFIX));
      const connection = redisConnection(redis.url);
      for (const prefix of prefixes) {
        for (const name of [DESCRIBE_QUEUE, SUSPECT_QUEUE]) {
          const queue = new Queue(name, { connection, prefix });
          const worker = new Worker(name, undefined, { connection, prefix, autorun: false });
          try {
            // Priority 0 waits in the list `wait`; a run's jobs (priority >= 1) in the sorted set `prioritized`.
            await queue.addBulk([0, 0, 1, 1].map((priority, i) => ({ name: "describe", data: { runId: "r", seq: i + 1, productId: `p${i}` }, opts: { priority, jobId: `r.${i + 1}` } })));
            // A worker takes one: `active`.
            expect(await worker.getNextJob("test-token", { block: false })).toBeDefined();
          } finally {
            await worker.close(true);
            await queue.close();
          }
        }
      }
    });
    afterAll(async () => {
      client?.disconnect();
      await redis?.stop();
    });

    it.each(["dev", "prod", "gpu"] as const)("%s: each trigger's key exists with the type KEDA counts (list: LLEN, sorted set: ZCARD)", async (overlay) => {
      const triggers = redisTriggers(renderOf(overlay));
      expect(triggers.length).toBe(6);
      expect(await keyTypeProblems(client, triggers)).toEqual([]);
    });

    it("a trigger under another prefix finds no key", async () => {
      expect(await keyTypeProblems(client, redisTriggers(renderOf("broken-prefix")))).toEqual(["trigger wait: facets:describe:wait is not in Redis, expected a list"]);
    });
  });

  describe("each check catches its fault", () => {
    it("a scaler key under the wrong prefix", () => {
      expect(scalerProblems(renderOf("broken-prefix"))).toEqual([
        expect.stringMatching(/^ScaledObject\/facet-worker: trigger wait counts facets:describe:wait, not a key BullMQ writes for QUEUE_PREFIX facet/),
        "ScaledObject/facet-worker: no trigger counts facet:describe:wait",
      ]);
    });

    it("a GPU worker without its GPU request or CUDA, and GPU expectations the wrong way round", () => {
      expect(gpuProblems(renderOf("broken-gpu"), true)).toEqual([
        "Deployment/facet-worker container worker: nvidia.com/gpu requested 0, limited 1; a GPU worker needs at least 1 of each",
        "Deployment/facet-worker container worker: EXECUTION_PROVIDER is cpu, not cuda",
      ]);
      expect(gpuProblems(renderOf("dev"), true)).toContain("Deployment/facet-worker container worker: EXECUTION_PROVIDER is cpu, not cuda");
      expect(gpuProblems(renderOf("gpu"), false)).toContain("Deployment/facet-worker container worker: asks for nvidia.com/gpu (requested 1, limited 1)");
    });

    it("a missing secret key, and a Secret that is not rendered", () => {
      expect(referenceProblems(renderOf("broken-secret"))).toEqual([
        expect.stringMatching(/^Deployment\/facet-worker container worker env DATABASE_URL: Secret facet-secrets has no key DATABASE_URI \(keys: AWS_ACCESS_KEY_ID, /),
        "TriggerAuthentication/facet-redis parameter password: Secret facet-redis-password is not rendered in namespace facet-dev",
      ]);
    });

    it("a backlog too small for maxReplicaCount", () => {
      expect(backlogProblems(renderOf("broken-backlog"))).toEqual(["BACKLOG_PER_RUN 2000 < maxReplicaCount 32 x target 96 = 3072: one run can bring at most 21 workers"]);
    });

    it("an unknown variable, an invalid value, a whole Secret in envFrom", () => {
      const problems = envProblems(renderOf("broken-env"));
      expect(problems).toEqual(expect.arrayContaining([
        "Deployment/facet-worker container worker: BATCH_SIZ is neither a key of configSchema (shared/config/config.ts) nor in LIBRARY_ENV",
        'Deployment/facet-worker container worker: its environment fails Facet\'s config: BATCH_MAX_WAIT_MS="-1": Too small: expected number to be >=0',
        "Deployment/facet-producer container producer: envFrom secretRef passes a whole Secret; reference its keys one by one (env valueFrom.secretKeyRef)",
        "Deployment/facet-producer container producer: REDIS_ADDRESS is neither a key of configSchema (shared/config/config.ts) nor in LIBRARY_ENV",
      ]));
    });

    it("a short grace period, a writable root, a missing probe, limit and migration wait, a wrong port, a bad field, a stray HPA", () => {
      const objects = renderOf("broken-pod");
      expect(shutdownProblems(objects)).toEqual(["Deployment/facet-worker: terminationGracePeriodSeconds 30 must exceed preStop 0 s + SHUTDOWN_DEADLINE_MS 25 s + 5 s = 30 s"]);
      expect(containerProblems(objects)).toEqual([
        "Deployment/facet-worker container worker: no resources.limits.memory",
        "Deployment/facet-worker container worker: securityContext.readOnlyRootFilesystem is not true",
        "Deployment/facet-worker container worker: port metrics is 9465, METRICS_PORT is 9464",
        "Deployment/facet-worker container worker: no readinessProbe",
      ]);
      expect(rolloutProblems(objects)).toEqual(["Deployment/facet-producer: no initContainer running 'facet db wait'"]);
      expect(schemaProblems(objects)).toEqual([
        expect.stringMatching(/^Deployment\/facet-producer: .*replicas must be integer/),
        "HorizontalPodAutoscaler/facet-worker-cpu: no schema for autoscaling/v2 HorizontalPodAutoscaler (deploy/manifest-checks.ts lists the kinds Facet uses)",
      ]);
    });

    it("no default deny, and a rule open to every address and port", () => {
      const problems = networkProblems(renderOf("broken-network"));
      expect(problems).toEqual(expect.arrayContaining([
        "Deployment/facet-worker: no default-deny NetworkPolicy (Ingress and Egress, no rules) selects its pods",
        "NetworkPolicy/facet-allow-redis: an egress rule without ports allows every port",
      ]));
    });

    it("a target that is not the worker's concurrency, a trigger left out of the formula, a short cooldown", () => {
      expect(scalerProblems(renderOf("broken-scaler"))).toEqual([
        "ScaledObject/facet-worker: target 96 jobs per worker, but a worker holds WORKER_CONCURRENCY 384",
        "ScaledObject/facet-worker: trigger active is not in the formula 'wait + prioritized + suspect_wait + suspect_prioritized + suspect_active'",
        "ScaledObject/facet-worker: cooldownPeriod 10 s must outlast a batch and the longest retry back-off (16 s)",
      ]);
    });
  });
});
