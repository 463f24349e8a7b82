import { fileURLToPath } from "node:url";

/** The repository's root folder (where package.json is), whatever the working directory. */
export const REPO_ROOT_DIR = fileURLToPath(new URL("../", import.meta.url));
