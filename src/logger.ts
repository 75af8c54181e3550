import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.js';

/**
 * The one logger. JSON lines in production; readable lines on a terminal in development.
 * Secret-bearing fields are redacted wherever they appear.
 */
export function createLogger(config: Pick<Config, 'env' | 'log'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: 'gatehouse' },
    redact: {
      paths: ['password', '*.password', 'passwordHash', '*.passwordHash', 'client_secret', '*.client_secret', 'access_token', 'refresh_token', 'id_token', 'code', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  if (config.env === 'development' && process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname,service' } } });
  }
  return pino(options);
}
