/** Where library messages go. Pass your own (pino, winston, console) as `logger`. */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** The default: warnings and errors to stderr, prefixed so they can be grepped. */
export const consoleLogger: Logger = {
  warn: (message, details) => console.warn(`[switchyard] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[switchyard] ${message}`, details ?? ''),
};

/** For tests and embedders who want silence. */
export const silentLogger: Logger = { warn: () => {}, error: () => {} };
