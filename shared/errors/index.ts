export { FacetError } from "./facet-error.js";
export { PermanentError } from "./permanent-error.js";
export { TransientError } from "./transient-error.js";
export { BundleError } from "./bundle-error.js";
export { ConfigError } from "./config-error.js";
export { ConflictError } from "./conflict-error.js";
export { NotFoundError } from "./not-found-error.js";
export { failureReason } from "./failure-reason.js";
export { fromWireError, toWireError, type WireError } from "./wire-error.js";
