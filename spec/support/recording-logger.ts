import type { Logger } from '../../middleware/logger.js';

export type RecordingLogger = Logger & { info(message: string): void; warnings: string[]; infos: string[] };

/** A logger that keeps what it is told: warnings and errors together, infos apart. */
export function recorder(): RecordingLogger {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    warn: (message: string) => warnings.push(message),
    error: (message: string) => warnings.push(message),
    info: (message: string) => infos.push(message),
  };
}
