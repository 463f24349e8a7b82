#!/usr/bin/env node
// The `facet` command. Sources are TypeScript run through tsx's loader, so there is no
// build step between a checkout and a working CLI.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
