import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { DockerfileParser, type Copy, type Dockerfile, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { REPO_ROOT_DIR as ROOT } from "../shared/repo-root.js";

/**
 * The image, checked without a container engine: dockerfile-utils' linter (the Docker language
 * server's) finds nothing, and the stages do what deploy/README.md says: a non-root numeric user,
 * a health check, the compiled JavaScript, no dev dependency in a final stage, every source the
 * build compiles and every file the code reads at run time copied in.
 */
const TEXT = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
const FINAL_STAGES = ["cpu", "cuda"] as const;

interface Stage {
  name: string;
  /** The stage or image it starts from, with ARG defaults resolved. */
  from: string;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const file: Dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  // ARGs before the first FROM: their defaults fill ${NAME} in FROM lines.
  for (const a of file.getInstructions()) {
    if (a.getKeyword() === "FROM") break;
    const [k, v] = a.getArgumentsContent()?.split("=") ?? [];
    if (a.getKeyword() === "ARG" && k && v) args.set(k, v);
  }
  const resolve = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? `\${${k}}`);
  const stages: Stage[] = [];
  for (const i of file.getInstructions()) {
    if (i.getKeyword() === "FROM") {
      const words = i.getArguments().map((a) => a.getValue());
      stages.push({ name: words[2] ?? `#${stages.length}`, from: resolve(words[0] ?? ""), instructions: [] });
    } else stages.at(-1)?.instructions.push(i);
  }
  return stages;
}

const STAGES = stagesOf(TEXT);
const stage = (name: string): Stage => {
  const s = STAGES.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage '${name}' (stages: ${STAGES.map((x) => x.name).join(", ")})`);
  return s;
};
const words = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const of = (s: Stage, keyword: string) => s.instructions.filter((i) => i.getKeyword() === keyword);
/** A stage and the stages it is built on, base first. */
function lineage(s: Stage): Stage[] {
  const parent = STAGES.find((x) => x.name === s.from);
  return parent ? [...lineage(parent), s] : [s];
}
/** COPY instructions as { from (a stage, or the build context), sources, destination }. */
function copies(s: Stage): Array<{ from?: string; sources: string[]; dest: string }> {
  return of(s, "COPY").map((i) => {
    const paths = words(i);
    const from = (i as Copy).getFromFlag()?.getValue();
    return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
  });
}

/** What a stage takes from the build context: its own COPYs, and those of a stage whose whole tree it copies (runtime-files). */
function contextFiles(s: Stage): string[] {
  return copies(s).flatMap((c) => (!c.from ? c.sources : c.sources.includes("/") ? contextFiles(stage(c.from)) : []));
}

describe("Dockerfile", () => {
  it("passes dockerfile-utils' linter, which finds a broken one", () => {
    expect(validate(TEXT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    const broken = TEXT.replace("--interval=15s", "--interval=often").replace("USER 10001:10001", "USER");
    expect(validate(broken).length).toBeGreaterThanOrEqual(2);
  });

  it("has a build stage and the cpu and cuda targets, on a Node.js LTS (22 or 24)", () => {
    expect(STAGES.map((s) => s.name)).toEqual(expect.arrayContaining(["build", ...FINAL_STAGES]));
    // A plain `docker build .` builds the last stage: the CPU image.
    expect(STAGES.at(-1)?.name).toBe("cpu");
    expect(stage("build").from).toMatch(/^node:(22|24)\.\d+\.\d+-bookworm-slim$/);
    expect(stage("cpu").from).toBe(stage("build").from);
    // The cuda target starts from NVIDIA's runtime and takes the same node binary from the build stage.
    expect(stage("cuda").from).toMatch(/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    expect(copies(stage("cuda"))).toContainEqual({ from: "build", sources: ["/usr/local/bin/node"], dest: "/usr/local/bin/node" });
  });

  it.each(FINAL_STAGES)("%s runs the compiled CLI as a numeric non-root user, with a health check", (name) => {
    const s = stage(name);
    const user = of(s, "USER").at(-1);
    expect(user, `${name}: no USER`).toBeDefined();
    const [uid, gid] = (words(user as Instruction)[0] ?? "").split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid ?? uid)).toBeGreaterThan(0);
    const health = of(s, "HEALTHCHECK").at(-1);
    expect(health && words(health).join(" ")).toMatch(/CMD \[?"?node"?,? "?bin\/healthcheck\.mjs"?\]?/);
    const entry = of(s, "ENTRYPOINT").at(-1);
    expect(entry?.getArgumentsContent()).toBe('["node", "--max-semi-space-size=64", "bin/facet.mjs"]');
    for (const dir of ["dist", "node_modules"]) expect(copies(s).some((c) => c.dest === dir), `${name} copies ${dir}`).toBe(true);
    expect(contextFiles(s)).toContain("bin");
  });

  it.each(FINAL_STAGES)("%s holds no dev dependency: its node_modules come from a stage that pruned them, and it installs nothing", (name) => {
    const s = stage(name);
    expect(of(s, "RUN").map((r) => r.getArgumentsContent())).not.toContainEqual(expect.stringMatching(/npm (ci|install|i)\b/));
    const modules = copies(s).filter((c) => c.dest === "node_modules");
    expect(modules).toHaveLength(1);
    const source = stage(modules[0]?.from ?? "");
    const runs = lineage(source).flatMap((x) => of(x, "RUN").map((r) => r.getArgumentsContent() ?? ""));
    const lastIndex = (re: RegExp) => runs.reduce((last, r, i) => (re.test(r) ? i : last), -1);
    const lastInstall = lastIndex(/npm (ci|install)\b/);
    const prune = lastIndex(/npm prune --omit=dev/);
    expect(lastInstall).toBeGreaterThanOrEqual(0);
    expect(prune, `${source.name}: npm prune --omit=dev after the last install`).toBeGreaterThanOrEqual(lastInstall);
  });

  it("copies every source folder the build compiles (tsconfig.build.json's include)", () => {
    const config = readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8").replace(/^\s*\/\/.*$/gm, "");
    const include = (JSON.parse(config) as { include: string[] }).include;
    const folders = new Set(include.map((glob) => glob.split("/**")[0] as string));
    const copied = new Set(copies(stage("build")).flatMap((c) => c.sources));
    expect([...folders].filter((f) => !copied.has(f))).toEqual([]);
  });

  it("copies every script `npm run build` runs with node (the bundle step) into the build stage", () => {
    const build = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.build as string;
    const scripts = [...build.matchAll(/\bnode (\S+\.m?js)\b/g)].map((m) => m[1] as string);
    expect(scripts).toContain("bin/bundle.mjs");
    const copied = new Set(copies(stage("build")).flatMap((c) => c.sources));
    expect(scripts.filter((s) => !copied.has(s))).toEqual([]);
  });

  it.each(FINAL_STAGES)("%s holds every file the shipped code reads by repoPath()", (name) => {
    const shipped = ["cli", "shared", "workers", "producers", "server", "models"].flatMap((d) => sourceFiles(path.join(ROOT, d)));
    const read = new Set(shipped.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/repoPath\("([^"]+)"\)/g)].map((m) => m[1] as string)));
    expect(read.size).toBeGreaterThan(0);
    const copied = contextFiles(stage(name));
    expect([...read].filter((p) => !copied.some((c) => p === c || p.startsWith(`${c}/`)))).toEqual([]);
  });

  it("gives the cuda target onnxruntime-node's CUDA provider at build time, never through the repository's .npmrc", () => {
    const cudaModules = copies(stage("cuda")).find((c) => c.dest === "node_modules");
    const runs = lineage(stage(cudaModules?.from ?? "")).flatMap((x) => of(x, "RUN").map((r) => r.getArgumentsContent() ?? ""));
    expect(runs).toContainEqual(expect.stringMatching(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/));
    expect(readFileSync(path.join(ROOT, ".npmrc"), "utf8")).toMatch(/^onnxruntime-node-install=skip$/m);
    const cpuModules = copies(stage("cpu")).find((c) => c.dest === "node_modules");
    expect(cpuModules?.from).toBe("build");
  });

  it("keeps installed and built outputs, local data and secrets out of the build context", () => {
    const ignored = readFileSync(path.join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining([".git", "node_modules", "dist", ".data", "deploy/kubernetes/**/secrets.env"]));
  });

  it("runs on the Node.js 22 that CI tests with", () => {
    const ci = /^NODE22_VERSION=(\S+)$/m.exec(readFileSync(path.join(ROOT, ".ci/run"), "utf8"))?.[1];
    expect(ci, ".ci/run sets NODE22_VERSION").toBeDefined();
    expect(stage("build").from).toBe(`node:${ci}-bookworm-slim`);
  });
});

/** TypeScript sources under `dir` that are shipped (not tests). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === "node_modules" || name === "training" ? [] : sourceFiles(full);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : [];
  });
}
