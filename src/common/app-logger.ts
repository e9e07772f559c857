import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import pretty from 'pino-pretty';

/** `json`: one object a line, for machines (the default outside dev mode); `pretty`: for people. */
export type LogFormat = 'json' | 'pretty';

/**
 * Keys whose values never reach a log line, wherever a logged object carries them (one level deep):
 * access tokens, rejoin keys, secrets and authorization headers. Messages themselves never hold them.
 */
const SECRET_KEYS = [
  'token',
  'tokens',
  'rejoinKey',
  'rejoinKeyHash',
  'secret',
  'apiSecret',
  'adminToken',
  'authSecret',
  'authorization',
  'password',
];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

// Nest's own start-up chatter (one line per module, route and socket handler) buries the lines that
// matter to an operator: node transitions, rebuilds, the app URL. Shown again with LOG_LEVEL=debug.
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController']);

/** LOG_FORMAT wins; otherwise readable lines in dev mode, JSON elsewhere. */
export function logFormatFor(devMode: boolean, env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (env.LOG_FORMAT === 'json' || env.LOG_FORMAT === 'pretty') return env.LOG_FORMAT;
  return devMode ? 'pretty' : 'json';
}

/**
 * The app's logger: pino through nestjs-pino, so `Logger.log({msg, sessionId, ...}, context)` gives
 * structured fields (session id, identity, node url, generation) and a plain string stays a message.
 * Writes synchronously: a line logged just before a crash is not lost.
 */
export class AppLogger extends PinoNestLogger {
  constructor(
    format: LogFormat = logFormatFor(false),
    private readonly debugEnabled = process.env.LOG_LEVEL === 'debug',
  ) {
    const options: pino.LoggerOptions = {
      level: debugEnabled ? 'debug' : 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    };
    const stream =
      format === 'pretty'
        ? pretty({
            sync: true,
            colorize: process.stdout.isTTY === true,
            singleLine: true,
            ignore: 'pid,hostname,context',
            translateTime: 'SYS:HH:MM:ss.l',
            messageFormat: '[{context}] {msg}',
          })
        : pino.destination({ dest: 1, sync: true });
    // pino-http's options carry the logger's; no request is logged (autoLogging off): the API's
    // answers are counted in /metrics, and a line per request would drown the ones that matter.
    super(new PinoLogger({ pinoHttp: [{ ...options, autoLogging: false }, stream] }), {});
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (!this.debugEnabled && typeof context === 'string' && STARTUP_CONTEXTS.has(context)) return;
    super.log(message, ...optionalParams);
  }
}
