/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * The logging interface micro-ts writes to. Any object with these four methods fits (pino,
 * console, winston child loggers). `fields` are structured context.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options for {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written. Default: `MICRO_LOG_LEVEL` from the environment, else "info". */
  level?: LogLevel;
  /** Prefix of every line, e.g. the service name. Default: none. */
  name?: string;
  /** Where lines go. Default: process.stderr. */
  write?: (line: string) => void;
}

/** A logger writing one line per entry to stderr: `LEVEL [name] message {json fields}`. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const envLevel = process.env.MICRO_LOG_LEVEL as LogLevel | undefined;
  const level = options.level ?? (envLevel && envLevel in order ? envLevel : "info");
  const min = order[level];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const prefix = options.name ? ` [${options.name}]` : "";
  const log = (lvl: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : "";
    write(`${new Date().toISOString()} ${lvl.toUpperCase()}${prefix} ${message}${extra}`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) =>
      x instanceof Error ? { name: x.name, message: x.message } : x,
    );
  } catch {
    return String(v);
  }
}
