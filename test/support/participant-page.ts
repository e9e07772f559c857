import type { Browser, BrowserContext, Page } from 'playwright-core';

/** The sample page sets window.__sessionRebuilder (client/src/app/test-hook.ts) only when opened with it. */
export const TEST_HOOK_QUERY = 'test-hook=1';

// What the sample page exposes on window.__sessionRebuilder, as seen from node.
export interface MoveTimingSnapshot {
  seq: number;
  trigger: string;
  fromUrl: string;
  toUrl?: string;
  generation?: number;
  detectedAt: number;
  tokenAt?: number;
  connectedAt?: number;
  publishedAt?: number;
  firstFrameAt?: number;
  allFramesAt?: number;
  /** Diagnostic instants inside the steps (see MoveTiming.marks). */
  marks?: Record<string, number>;
  expectedRemotes: string[];
  outcome?: string;
}

export interface HookSnapshot {
  state: string;
  identity?: string;
  sessionId?: string;
  url?: string;
  generation?: number;
  moves: MoveTimingSnapshot[];
}

interface PageHook {
  state: string;
  identity?: string;
  sessionId?: string;
  url?: string;
  generation?: number;
  moves: MoveTimingSnapshot[];
  log: Array<{ at: number; level: string; message: string }>;
  framesDecoded(): Promise<Record<string, number>>;
  publisherPauses(forMs: number): Promise<number[]>;
}
// Only ever read inside page.evaluate(), i.e. in the browser.
declare const window: { __sessionRebuilder?: PageHook };

/** Joining through the form: token, camera, connect, publish (a cold Chromium page on 2 cores). */
export const JOIN_TIMEOUT_MS = 20_000;
/** Remote video is decoding again within this after a kill, or the test fails. */
export const FRAMES_TIMEOUT_MS = 15_000;
/** The page's console warnings and errors kept for describe(). */
const CONSOLE_LINES_KEPT = 100;
/** Two framesDecoded samples this far apart must differ to call video "rising". */
const RISING_SAMPLE_GAP_MS = 400;

export class Participant {
  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly pageErrors: string[],
    /** The page's console warnings and errors (livekit-client's own among them), the latest last. */
    readonly consoleLines: string[] = [],
  ) {}

  snapshot(): Promise<HookSnapshot> {
    return this.page.evaluate(() => {
      const hook = window.__sessionRebuilder;
      if (!hook) throw new Error('window.__sessionRebuilder is not set: open the page with ?test-hook=1');
      return {
        state: hook.state,
        identity: hook.identity,
        sessionId: hook.sessionId,
        url: hook.url,
        generation: hook.generation,
        moves: hook.moves,
      };
    });
  }

  framesDecoded(): Promise<Record<string, number>> {
    return this.page.evaluate(() => window.__sessionRebuilder!.framesDecoded());
  }

  /** ResilientRoom's log lines on this page so far (epoch ms, level, message). */
  /** The pauses of what the node sends on our publisher connection over `forMs`, longest first (see the test hook). */
  publisherPauses(forMs: number): Promise<number[]> {
    return this.page.evaluate((ms) => window.__sessionRebuilder!.publisherPauses(ms), forMs);
  }

  logs(): Promise<Array<{ at: number; level: string; message: string }>> {
    return this.page.evaluate(() => window.__sessionRebuilder!.log);
  }

  /** The page's event log from `sinceMs` on (Date.now() in the page, the same clock as node's). */
  logSince(sinceMs: number): Promise<Array<{ at: number; level: string; message: string }>> {
    return this.page.evaluate((since) => window.__sessionRebuilder!.log.filter((entry) => entry.at >= since), sinceMs);
  }

  overlayState(): Promise<string | null> {
    return this.page.getAttribute('[data-testid="overlay"]', 'data-state');
  }

  async identity(): Promise<string> {
    const identity = (await this.snapshot()).identity;
    if (!identity) throw new Error(`${this.name} has no identity yet`);
    return identity;
  }

  /** Waits until framesDecoded rises for every identity in `remotes` (and no other check). */
  async waitForVideoFrom(remotes: string[], timeoutMs = FRAMES_TIMEOUT_MS): Promise<Record<string, number>> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, number> = {};
    while (Date.now() < deadline) {
      const first = await this.framesDecoded();
      await sleep(RISING_SAMPLE_GAP_MS);
      const second = await this.framesDecoded();
      last = second;
      if (remotes.every((id) => (second[id] ?? 0) > (first[id] ?? 0) && (first[id] ?? 0) > 0)) return second;
    }
    throw new Error(
      `${this.name}: video from ${remotes.join(', ')} not rising within ${timeoutMs} ms; framesDecoded=${JSON.stringify(last)}, ${await this.describe()}`,
    );
  }

  /** State, node and the tail of the page's event log: what a failure message needs. */
  async describe(): Promise<string> {
    const snap = await this.snapshot().catch(() => undefined);
    const log = await this.page
      .evaluate(() =>
        window.__sessionRebuilder!.log.map((e) => `${new Date(e.at).toISOString().slice(17, 23)} ${e.message}`),
      )
      .catch(() => []);
    const consoleTail = this.consoleLines.slice(-15);
    return `state=${snap?.state}, url=${snap?.url}, page errors: ${this.pageErrors.slice(-5).join(' | ') || 'none'}\n  page log:\n    ${collapseRepeats(log).slice(-20).join('\n    ')}${consoleTail.length > 0 ? `\n  console:\n    ${consoleTail.join('\n    ')}` : ''}`;
  }

  async waitForState(state: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await this.snapshot()).state;
      if (seen === state) return;
      await sleep(100);
    }
    throw new Error(
      `${this.name}: state "${state}" not reached within ${timeoutMs} ms (last: ${seen}); ${await this.describe()}`,
    );
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}

/** Opens the sample page in a fresh browser context and joins through the form, as a user would. */
export async function joinThroughPage(
  browser: Browser,
  baseUrl: string,
  sessionId: string,
  name: string,
): Promise<Participant> {
  const context = await browser.newContext({
    viewport: { width: 640, height: 480 },
    permissions: ['camera', 'microphone'],
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (message) => {
    if (message.type() !== 'warning' && message.type() !== 'error') return;
    consoleLines.push(`${new Date().toISOString().slice(17, 23)} ${message.type()}: ${message.text().slice(0, 300)}`);
    if (consoleLines.length > CONSOLE_LINES_KEPT) consoleLines.shift();
  });
  const participant = new Participant(name, context, page, errors, consoleLines);
  try {
    await page.goto(`${baseUrl}/?session=${encodeURIComponent(sessionId)}&lowres=1&${TEST_HOOK_QUERY}`, {
      timeout: JOIN_TIMEOUT_MS,
    });
    await page.fill('[data-testid="name-input"]', name);
    await page.click('[data-testid="join-button"]');
    await participant.waitForState('connected', JOIN_TIMEOUT_MS);
    return participant;
  } catch (err) {
    await participant.close();
    throw err;
  }
}

/**
 * Waits until every participant is connected on a node other than `fromUrl`. Checked before looking at
 * frames: right after a kill, frames already in flight still decode and would make "rising" pass.
 */
export async function waitForMoveAway(
  participants: Participant[],
  fromUrl: string,
  timeoutMs = FRAMES_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let snaps: HookSnapshot[] = [];
  while (Date.now() < deadline) {
    snaps = await Promise.all(participants.map((p) => p.snapshot()));
    if (snaps.every((s) => s.state === 'connected' && s.url !== fromUrl)) return;
    await sleep(100);
  }
  throw new Error(
    `not everyone left ${fromUrl} within ${timeoutMs} ms: ${JSON.stringify(snaps.map((s) => ({ state: s.state, url: s.url })))}`,
  );
}

/**
 * Waits until every participant is connected on the placement after `from`: generation `from.generation + 1`
 * (one move, not two) at `to` when given (LiveKit's cluster: the same one URL), else at any URL but
 * `from.url`. Like waitForMoveAway, checked before looking at frames.
 */
export async function waitForMove(
  participants: Participant[],
  from: { url: string; generation: number },
  to?: string,
  timeoutMs = FRAMES_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const generation = from.generation + 1;
  let snaps: HookSnapshot[] = [];
  while (Date.now() < deadline) {
    snaps = await Promise.all(participants.map((p) => p.snapshot()));
    if (snaps.some((s) => (s.generation ?? 0) > generation))
      throw new Error(
        `moved more than once: ${JSON.stringify(snaps.map((s) => ({ url: s.url, generation: s.generation })))}`,
      );
    const arrived = (s: HookSnapshot) =>
      s.state === 'connected' && s.generation === generation && (to === undefined ? s.url !== from.url : s.url === to);
    if (snaps.every(arrived)) return;
    await sleep(100);
  }
  throw new Error(
    `not everyone reached generation ${generation}${to ? ` on ${to}` : ` off ${from.url}`} within ${timeoutMs} ms: ${JSON.stringify(snaps.map((s) => ({ state: s.state, url: s.url, generation: s.generation })))}`,
  );
}

/** Every participant decodes every other one's video. */
export async function expectEveryoneSeesEveryone(
  participants: Participant[],
  timeoutMs = FRAMES_TIMEOUT_MS,
): Promise<void> {
  const identities = await Promise.all(participants.map((p) => p.identity()));
  await Promise.all(
    participants.map((p, i) =>
      p.waitForVideoFrom(
        identities.filter((_, j) => j !== i),
        timeoutMs,
      ),
    ),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Log lines "hh:mm.sss message", a run of one message told once with its count and its last instant. */
function collapseRepeats(lines: string[]): string[] {
  const out: string[] = [];
  let run = 0;
  for (const [i, line] of lines.entries()) {
    const message = line.slice(line.indexOf(' ') + 1);
    const next = lines[i + 1];
    if (next !== undefined && next.slice(next.indexOf(' ') + 1) === message) {
      run++;
      continue;
    }
    out.push(run > 0 ? `${line} (×${run + 1})` : line);
    run = 0;
  }
  return out;
}
