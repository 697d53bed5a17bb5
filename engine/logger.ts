/**
 * pino, leaseflow's only log sink, and the bridge that routes MikroORM's own logging into it.
 * Messages are constant strings; data goes into bound fields (`component`, `runner`, …).
 */
import pino, { type Logger } from 'pino';
import { LOG_FIELD_MAX_BYTES, truncateUtf8 } from './error-size';
import { DefaultLogger, type LoggerNamespace, type LogContext, type LoggerOptions } from '@mikro-orm/core';

export type { Logger } from 'pino';

/** A logger for library use when the caller gave none: info level, JSON to stdout. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? 'info', name: options.name ?? 'leaseflow', base: undefined });
}

/** A logger that writes nothing (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** MikroORM logger that forwards to a pino child with component=mikro-orm (queries at debug). */
class PinoMikroLogger extends DefaultLogger {
  constructor(options: LoggerOptions, private readonly target: Logger) {
    super(options);
  }

  override log(namespace: LoggerNamespace, message: string, context?: LogContext): void {
    if (!this.isEnabled(namespace, context)) return;
    // eslint-disable-next-line no-control-regex
    // Bounded: a failed statement's text may carry a multi-MB payload.
    const text = truncateUtf8(message.replace(/\x1b\[[0-9;]*m/g, ''), LOG_FIELD_MAX_BYTES);
    const fields = { component: 'mikro-orm', ns: namespace, tookMs: context?.took, affected: context?.affected };
    if (namespace === 'query' || namespace === 'query-params') this.target.debug(fields, text);
    else if (context?.level === 'error') this.target.error(fields, text);
    else if (context?.level === 'warning') this.target.warn(fields, text);
    else this.target.debug(fields, text);
  }
}

/** A MikroORM `loggerFactory` that writes into `logger`. */
export function mikroLoggerFactory(logger: Logger) {
  return (options: LoggerOptions) => new PinoMikroLogger(options, logger);
}
