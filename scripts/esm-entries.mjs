// One ES module per entry point, re-exporting the CommonJS build by name, so that `import` and
// `require` load the same classes (no dual-package hazard) and ESM callers get named imports.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

for (const entry of ['middleware', 'dashboard']) {
  const dir = new URL(`../dist/${entry}/`, import.meta.url);
  const names = Object.keys(require(new URL('index.js', dir).pathname)).filter((name) => name !== '__esModule' && name !== 'default');
  writeFileSync(new URL('index.mjs', dir), `import cjs from './index.js';\n\nexport const { ${names.join(', ')} } = cjs;\n`);
  writeFileSync(new URL('index.d.mts', dir), `export * from './index.js';\n`);
}
