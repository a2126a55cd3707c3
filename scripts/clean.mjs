// `rm -rf dist`, on every platform: a package is built from nothing, so no stale file ships.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
