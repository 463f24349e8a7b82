import { ConfigError } from "../errors/index.js";

/** The name that asks for the highest release version of a store instead of a fixed one. */
export const LATEST = "latest";

/**
 * A model version names a folder in the store and in the local cache, so it is held to
 * the manifest's own `version` rule (letters, digits, `.`, `_`, `+`, `-`) and may not start
 * with `.` (no `..`, no hidden folders). `latest` is reserved: a folder of that name would
 * be ambiguous.
 */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function isVersionName(name: string): boolean {
  return VERSION_NAME.test(name) && name !== LATEST;
}

/** `version`, if it can name a model version folder; otherwise a ConfigError naming it and the rule. */
export function checkVersionName(version: string): string {
  if (!isVersionName(version)) {
    throw new ConfigError(
      `model version ${JSON.stringify(version)} is not a valid version name (letters, digits, '.', '_', '+', '-', not starting with '.'; "${LATEST}" is reserved)`,
    );
  }
  return version;
}

/** A pre-release (`2.0.0-rc.1`): never chosen as `latest`, only when named. */
export function isPreRelease(version: string): boolean {
  return splitVersion(version).pre !== undefined;
}

/**
 * Semver-ish order of version names, total and deterministic:
 * 1. `+build` metadata is ignored (until the last step);
 * 2. the rest splits at its first `-` into a core and a pre-release tag;
 * 3. cores compare part by part (parts separated by `.`): two all-digit parts numerically
 *    (`1.10.0` > `1.9.0`), an all-digit part below a text part, two text parts by code
 *    units; a core that runs out of parts first is lower (`1.0` < `1.0.0`);
 * 4. equal cores: a release is above its pre-releases (`2.0.0` > `2.0.0-rc.1`), and two
 *    pre-release tags compare by the same part rule (`rc.2` < `rc.10`);
 * 5. still equal (`1.0.0+a`, `1.0.0+b`): plain string order.
 * Dates work as versions when written with dots (`2026.01.05`), not dashes.
 */
export function compareVersions(a: string, b: string): number {
  const x = splitVersion(a);
  const y = splitVersion(b);
  const core = compareParts(x.core, y.core);
  if (core !== 0) return core;
  if (x.pre === undefined || y.pre === undefined) {
    if (x.pre !== y.pre) return x.pre === undefined ? 1 : -1;
  } else {
    const pre = compareParts(x.pre, y.pre);
    if (pre !== 0) return pre;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function splitVersion(version: string): { core: string[]; pre: string[] | undefined } {
  const plus = version.indexOf("+");
  const main = plus < 0 ? version : version.slice(0, plus);
  const dash = main.indexOf("-");
  if (dash < 0) return { core: main.split("."), pre: undefined };
  return { core: main.slice(0, dash).split("."), pre: main.slice(dash + 1).split(".") };
}

function compareParts(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = a[i];
    const q = b[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const c = comparePart(p, q);
    if (c !== 0) return c;
  }
  return 0;
}

const DIGITS = /^\d+$/;

function comparePart(p: string, q: string): number {
  const pn = DIGITS.test(p);
  const qn = DIGITS.test(q);
  if (pn && qn) {
    // Compared as digit strings, so parts longer than a double's precision still order right.
    const pd = p.replace(/^0+(?=\d)/, "");
    const qd = q.replace(/^0+(?=\d)/, "");
    if (pd.length !== qd.length) return pd.length < qd.length ? -1 : 1;
    return pd < qd ? -1 : pd > qd ? 1 : 0;
  }
  if (pn !== qn) return pn ? -1 : 1;
  return p < q ? -1 : p > q ? 1 : 0;
}
