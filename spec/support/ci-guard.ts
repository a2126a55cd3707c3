import { execFileSync } from 'node:child_process';

/** The Debian package that brings each command a test needs. */
const PACKAGE_OF: Record<string, string> = { 'redis-cli': 'redis-tools', 'redis-sentinel': 'redis-sentinel', curl: 'curl' };

/**
 * Tests that need a real part (redis-server, Chromium) call this. Locally a missing part
 * skips the test with a reason; with CI=true it fails, so CI can never pass by skipping.
 */
export function requireTool(context: Mocha.Context, command: string): void {
  if (hasCommand(command)) return;
  const message = `${command} is not installed (apt-get install ${PACKAGE_OF[command] ?? command})`;
  if (process.env.CI === 'true') throw new Error(`${message}: CI must run every test`);
  context.skip();
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
