import { ConsoleLogger, type LogLevel } from '@nestjs/common';

// Nest's own start-up chatter (one line per module, route and socket handler) buries the lines that
// matter to an operator: node transitions, rebuilds, the app URL. Shown again with LOG_LEVEL=debug.
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController']);

export class AppLogger extends ConsoleLogger {
  constructor(private readonly debugEnabled = process.env.LOG_LEVEL === 'debug') {
    super();
    const levels: LogLevel[] = debugEnabled ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'];
    this.setLogLevels(levels);
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (!this.debugEnabled && typeof context === 'string' && STARTUP_CONTEXTS.has(context)) return;
    super.log(message, ...optionalParams);
  }
}
