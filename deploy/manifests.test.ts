import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DIR = fileURLToPath(new URL("./kubernetes/", import.meta.url));

/** Parse every manifest with Python's YAML parser (the one Kubernetes tooling is closest to here). */
function documents(file: string): Array<{ kind?: string; metadata?: { name?: string } }> {
  const out = execFileSync("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))", file], { encoding: "utf8" });
  return JSON.parse(out);
}

describe("Kubernetes manifests", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));
  it.each(files)("%s parses and names its objects", (file) => {
    const docs = documents(path.join(DIR, file));
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      expect(d.kind).toMatch(/^[A-Z]/);
      expect(d.metadata?.name).toMatch(/^facet-/);
    }
  });
});
