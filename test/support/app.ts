// Starts the real backend (compiled src/main.js) as a child process for e2e and browser tests.
import { built } from './built';
import { spawnNode } from './child-process';
import { TEST_ADMIN_TOKEN } from './session-client';

export interface StartAppOptions {
  /** LiveKit node URLs; none = the app starts its embedded dev cluster. */
  urls?: string[];
  apiKey?: string;
  secret?: string;
  /** 0 or absent: a free port. */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra command-line flags. */
  args?: string[];
  /** How long to wait for GET /health (the dev cluster takes a few seconds). Default 30 s. */
  startTimeoutMs?: number;
  /** The operators' bearer token; TEST_ADMIN_TOKEN by default, null for none (dev mode: open). */
  adminToken?: string | null;
}

export interface StartedApp {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the app printed so far (stdout and stderr). */
  output(): string;
}

export const MAIN_JS = built('src/main.js');

async function waitForHealth(url: string, deadline: number, alive: () => boolean, output: () => string): Promise<void> {
  for (;;) {
    if (!alive()) throw new Error(`the app exited before answering /health; output:\n${output()}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the app did not answer ${url}/health in time; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startApp(options: StartAppOptions = {}): Promise<StartedApp> {
  const args = ['--port', String(options.port ?? 0), '--host', '127.0.0.1'];
  for (const url of options.urls ?? []) args.push('--url', url);
  if (options.apiKey) args.push('--api-key', options.apiKey);
  if (options.secret) args.push('--secret', options.secret);
  // Operators' endpoints as in production: behind the admin token (specs read them with operatorApi).
  const adminToken = options.adminToken === undefined ? TEST_ADMIN_TOKEN : options.adminToken;
  if (adminToken !== null && !options.args?.includes('--admin-token')) args.push('--admin-token', adminToken);
  // Every spec's clients share 127.0.0.1: the per-address limits are off unless a spec sets them.
  if (!options.args?.includes('--rate-limit')) args.push('--rate-limit', '0');
  if (!options.args?.includes('--max-sockets-per-address')) args.push('--max-sockets-per-address', '0');
  args.push(...(options.args ?? []));
  // Flags only: an inherited LIVEKIT_URL must not turn a dev-cluster run into something else.
  const env = {
    LIVEKIT_URL: '',
    LIVEKIT_API_KEY: '',
    LIVEKIT_API_SECRET: '',
    PORT: '',
    ADMIN_TOKEN: '',
    AUTH_SECRET: '',
    DEV_MODE: '',
    RATE_LIMIT: '',
    MAX_SOCKETS_PER_ADDRESS: '',
    MAX_PARTICIPANTS: '',
    ...options.env,
  };
  const proc = spawnNode(MAIN_JS, args, env);
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  try {
    const [, port] = await proc.waitFor(/session-rebuilder: app http:\/\/127\.0\.0\.1:(\d+)/, timeoutMs);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(
      url,
      deadline,
      () => proc.child.exitCode === null && proc.child.signalCode === null,
      proc.output,
    );
    return { url, port: Number(port), pid: proc.pid, stop: () => proc.stop(5000), output: proc.output };
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
}
