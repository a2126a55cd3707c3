/** Options: what users write (`types`), what the code reads (`config`), the defaults and the checks. */
export type * from './options/types.js';
export type * from './options/config.js';
export { DEFAULTS } from './options/defaults.js';
export { normalizeOptions } from './options/normalize.js';
export { normalizeServer, normalizeWeight, normalizeLabels } from './options/pool.js';
