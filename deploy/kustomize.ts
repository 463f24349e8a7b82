/**
 * Rendering deploy/kubernetes with `kubectl kustomize` (kustomize is built into kubectl), for
 * deploy/manifests.test.ts: a temporary copy of the tree (so prod's gitignored secrets.env can
 * be written from its example, and broken variants added beside the real overlays), and each
 * kustomization rendered to plain objects.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const KUBERNETES_DIR = fileURLToPath(new URL("./kubernetes/", import.meta.url));

/** kubectl, where installed (Debian's and the upstream binary's usual places). */
export const KUBECTL = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));

/** One rendered object; its fields are read through kubernetes-models' types once validated. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** A copy of deploy/kubernetes in a temporary directory, with the secrets files the overlays read. */
export interface KubernetesTree {
  /** The copy's deploy/kubernetes. */
  root: string;
  /** Adds overlays/NAME/kustomization.yaml (a variant for a test) and returns its folder. */
  addOverlay(name: string, kustomization: string): Promise<string>;
  remove(): Promise<void>;
}

export async function copyKubernetesTree(): Promise<KubernetesTree> {
  const temp = await mkdtemp(path.join(os.tmpdir(), "facet-kustomize-"));
  const root = path.join(temp, "kubernetes");
  await cp(KUBERNETES_DIR, root, { recursive: true });
  // prod (and gpu, built on it) read secrets.env, which is gitignored: its example has every key.
  await copyFile(path.join(root, "overlays/prod/secrets.env.example"), path.join(root, "overlays/prod/secrets.env"));
  return {
    root,
    async addOverlay(name, kustomization) {
      const dir = path.join(root, "overlays", name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "kustomization.yaml"), kustomization);
      return dir;
    },
    remove: () => rm(temp, { recursive: true, force: true }),
  };
}

/** `kubectl kustomize DIR`, parsed (Python's YAML parser, as the repository's other YAML tests use). */
export function render(dir: string): K8sObject[] {
  if (!KUBECTL) throw new Error("kubectl is not installed");
  const yaml = execFileSync(KUBECTL, ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const json = execFileSync("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))"], {
    input: yaml,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(json) as K8sObject[];
}
