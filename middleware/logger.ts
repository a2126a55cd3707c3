/**
 * Where library messages go. Pass your own as `logger`: console and winston take
 * `warn(message, details)`; pino and bunyan take `warn(details, message)`, and are detected by
 * their `child()` and `levels` (or say `logStyle: 'object-first'`).
 */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

/** How a logger takes its arguments. */
export type LogStyle = 'message-first' | 'object-first';

/** What the library calls: always (message, fields), whatever the user's logger wants. */
export interface SafeLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

/** The default: warnings and errors to stderr, prefixed so they can be grepped. */
export const consoleLogger: Logger = {
  warn: (message, details) => console.warn(`[switchyard] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[switchyard] ${message}`, details ?? ''),
};

/** For tests and embedders who want silence. */
export const silentLogger: Logger = { warn: () => {}, error: () => {} };

/** pino and bunyan loggers have child() and a levels table; winston has levels but no object-first call. */
export function detectLogStyle(logger: object): LogStyle {
  const candidate = logger as { child?: unknown; levels?: unknown; bindings?: unknown; fields?: unknown };
  const pinoLike = typeof candidate.child === 'function' && (typeof candidate.bindings === 'function' || (typeof candidate.fields === 'object' && candidate.fields !== null));
  return pinoLike ? 'object-first' : 'message-first';
}

/**
 * Wrap a user's logger so that the library can call it anywhere: its argument order is the
 * logger's own, `info` falls back to `warn`, and a logger that throws is never the reason a
 * request or a timer fails.
 */
export function safeLogger(logger: Logger, style: LogStyle = detectLogStyle(logger)): SafeLogger {
  const call = (level: 'warn' | 'error' | 'info', message: string, fields?: Record<string, unknown>): void => {
    const method = (level === 'info' && typeof logger.info !== 'function' ? logger.warn : logger[level]) as (...args: unknown[]) => void;
    try {
      if (style === 'object-first') method.call(logger, fields ?? {}, message);
      else method.call(logger, message, ...(fields === undefined ? [] : [fields]));
    } catch {
      // nowhere left to report to: a broken logger loses its line, never the request
    }
  };
  return {
    warn: (message, fields) => call('warn', message, fields),
    error: (message, fields) => call('error', message, fields),
    info: (message, fields) => call('info', message, fields),
  };
}
