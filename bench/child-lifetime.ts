/**
 * For child entries: exit when the orchestrator goes away, even if it was SIGKILLed and could
 * not kill us. The orchestrator holds our stdin open; its end means the parent is gone.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
