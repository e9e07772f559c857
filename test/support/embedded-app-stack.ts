// One backend with its embedded 2-node media cluster (either engine) serving a browser app of the
// spec's choosing (CLIENT_DIST), plus Chromium: what the package specs drive. The session's node is
// crashed the way the apps' crash buttons do it (POST /api/dev/sessions/:id/crash-node: SIGKILL).
import { spawn } from 'node:child_process';
import type { MediaEngine } from './engines';
import { freePort } from '../../src/shared/ports';
import { startApp, type StartedApp } from './app';
import { launchChromium, type LaunchedBrowser } from './chromium';

/** The embedded cluster's nodes (the real LiveKit server takes a few seconds each on a loaded machine). */
const EMBEDDED_START_TIMEOUT_MS = 90_000;

export interface EmbeddedAppStack {
  app: StartedApp;
  chromium: LaunchedBrowser;
  /** SIGKILLs the node hosting `sessionId`; answers when the request went out and which node died. */
  crashNodeOf(sessionId: string): Promise<{ requestedAt: number; url: string }>;
  stop(): Promise<void>;
}

export async function startEmbeddedAppStack(engine: MediaEngine, clientDist: string): Promise<EmbeddedAppStack> {
  // The embedded nodes send webhooks to the backend's own port, so it must be known before it starts.
  const port = await freePort();
  const app = await startApp({
    port,
    // Dev mode as `npm start` runs it: the crash button's endpoint is open, as it is for the sample app.
    adminToken: null,
    args: ['--media', engine, '--dev-nodes', '2', '--dev-base-port', '0'],
    env: { CLIENT_DIST: clientDist },
    startTimeoutMs: EMBEDDED_START_TIMEOUT_MS,
  });
  let chromium: LaunchedBrowser;
  try {
    chromium = await launchChromium();
  } catch (err) {
    await app.stop();
    throw err;
  }
  return {
    app,
    chromium,
    async crashNodeOf(sessionId) {
      const requestedAt = Date.now();
      const response = await fetch(`${app.url}/api/dev/sessions/${encodeURIComponent(sessionId)}/crash-node`, {
        method: 'POST',
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { url?: string; message?: string };
      if (!response.ok || !body.url) throw new Error(`crash-node answered ${response.status}: ${JSON.stringify(body)}`);
      return { requestedAt, url: body.url };
    },
    async stop() {
      try {
        await chromium.close();
      } finally {
        await app.stop();
      }
    },
  };
}

/** A move's steps, from the crash request (ms), as the specs print them side by side. */
export interface MoveTimingRow {
  app: string;
  engine: MediaEngine;
  detected: number;
  token: number;
  connected: number;
  published: number;
  firstFrame: number;
  allFrames?: number;
}

export function moveTimingRow(
  app: string,
  engine: MediaEngine,
  move: {
    detectedAt: number;
    tokenAt?: number;
    connectedAt?: number;
    publishedAt?: number;
    firstFrameAt?: number;
    allFramesAt?: number;
  },
  killedAt: number,
): MoveTimingRow {
  const since = (at: number | undefined) => (at === undefined ? Number.NaN : Math.round(at - killedAt));
  return {
    app,
    engine,
    detected: since(move.detectedAt),
    token: since(move.tokenAt),
    connected: since(move.connectedAt),
    published: since(move.publishedAt),
    firstFrame: since(move.firstFrameAt),
    allFrames: move.allFramesAt === undefined ? undefined : since(move.allFramesAt),
  };
}

/** One line per row, greppable across spec files: `move timings | app | engine | ...` (ms after the crash request). */
export function logMoveTimings(row: MoveTimingRow): void {
  console.log(
    `move timings | ${row.app} | ${row.engine} | detected ${row.detected} | token ${row.token} | connected ${row.connected} | published ${row.published} | first frame ${row.firstFrame}${row.allFrames === undefined ? '' : ` | all frames ${row.allFrames}`} (ms after the crash request)`,
  );
}

/** Runs a program to completion in `cwd` (npm, tsc, vite); rejects with its output when it exits non-zero. */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(`${command} ${args.join(' ')} (in ${options.cwd ?? process.cwd()}) exited with ${code}:\n${out}`),
        );
    });
  });
}
