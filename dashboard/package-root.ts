import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The package's root: the nearest folder at or above `from` holding a package.json.
 * The dashboard's `views/` and `dashboard/public/` live there, and this code runs from
 * both `dashboard/` (sources) and `dist/dashboard/` (the build), so neither may be hard-coded.
 */
export function packageRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json at or above ${from}`);
    dir = parent;
  }
}

/** Where the EJS templates and the browser's static files are. */
export function assetDirs(root = packageRoot()): { views: string; public: string } {
  return { views: path.join(root, 'views'), public: path.join(root, 'dashboard', 'public') };
}
