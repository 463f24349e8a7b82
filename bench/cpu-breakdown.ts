/**
 * Where a process's CPU goes, for the benches: by thread (the main thread, the inference
 * threads, and the rest: the libuv pool and libvips's workers that decode photos, V8's GC and
 * compiler helpers) from /proc, and the main thread by package from a V8 CPU profile taken
 * with the inspector (its shares of the main thread's samples; the profiler samples wall time).
 * "The rest" is the process's total less the others: libvips starts and ends its threads as it
 * goes, and a thread that has ended is gone from /proc, its CPU only in the total.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

/** CPU seconds (user + system) of one thread of this process; 0 once it is gone. */
function threadSeconds(tid: string): number {
  try {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** This process's thread ids now. */
export function threadIds(): Set<string> {
  return new Set(readdirSync("/proc/self/task"));
}

/** CPU seconds so far: the whole process, its main thread, and the threads in `inference`. */
export interface ThreadCpu {
  total: number;
  main: number;
  inference: number;
}

/** `inference`: the ids of the inference threads (threadIds() before and after the engine starts). */
export function threadCpu(inference: ReadonlySet<string> = new Set()): ThreadCpu {
  const usage = process.cpuUsage();
  let inferenceSeconds = 0;
  for (const tid of inference) inferenceSeconds += threadSeconds(tid);
  return { total: (usage.user + usage.system) / 1e6, main: threadSeconds(String(process.pid)), inference: inferenceSeconds };
}

/** `after - before`, field by field. */
export function cpuSince(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  return { total: after.total - before.total, main: after.main - before.main, inference: after.inference - before.inference };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a frame's script belongs to: an npm package, Node.js itself, this project, or V8's own work. */
export function ownerOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) {
    const name = inModules[1] as string;
    return name.startsWith("@aws-sdk/") || name.startsWith("@smithy/") || name.startsWith("@aws-crypto/") ? "AWS SDK (@aws-sdk, @smithy)" : name;
  }
  if (url.startsWith("node:")) return "Node.js core";
  return "facet";
}

/** Milliseconds of the main thread's samples by owner (ownerOf), largest first. */
export function profileByOwner(profile: Profile): Array<{ owner: string; ms: number }> {
  const owners = new Map(profile.nodes.map((n) => [n.id, ownerOf(n.callFrame)]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const owner = owners.get(id) ?? "(unknown)";
    totals.set(owner, (totals.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms);
}

/** A V8 CPU profiler on this thread: `stop()` returns what it sampled since `start`. */
export async function startProfiler(intervalUs = 500): Promise<{ stop(): Promise<Profile> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  return {
    async stop() {
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      return profile as unknown as Profile;
    },
  };
}
