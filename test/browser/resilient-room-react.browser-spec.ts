// The React example (examples/react: @livekit/components-react's <VideoConference> inside the package's
// <ResilientRoomProvider>), built as its README says and served by the backend, on both engines: two
// people join through its form and see each other; one presses its "Crash my media node" button; both
// see each other's video again, in the same page (no reload), on the other node.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { fromRoot } from '../support/built';
import {
  logMoveTimings,
  moveTimingRow,
  runToEnd,
  startEmbeddedAppStack,
  type EmbeddedAppStack,
} from '../support/embedded-app-stack';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import { sleep } from '../support/participant-page';

const JOIN_TIMEOUT_MS = 20_000;
const VIDEO_TIMEOUT_MS = 15_000;

// Only ever read inside page.evaluate(), i.e. in the browser.
declare const window: { __sameDocument?: boolean };
declare const document: { querySelectorAll(selector: string): ArrayLike<HTMLVideoElementLike> };
interface HTMLVideoElementLike {
  srcObject: { getVideoTracks(): Array<{ id: string }> } | null;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}

/** The remote participants' <video> elements as <VideoConference> renders them: track ids and frames shown. */
function remoteVideos(page: Page): Promise<Array<{ track?: string; frames: number }>> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-lk-local-participant="false"] video')).map((video) => ({
      track: video.srcObject?.getVideoTracks()[0]?.id,
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
    })),
  );
}

/** A remote video shows new frames (on a track other than `not`, the one the dead node carried). */
async function waitForRemoteVideo(page: Page, not?: string): Promise<string> {
  const deadline = Date.now() + VIDEO_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    const first = await remoteVideos(page);
    await sleep(400);
    const second = await remoteVideos(page);
    last = second;
    const live = second.find(
      (v, i) => v.track && v.track !== not && v.frames > 0 && first[i]?.track === v.track && v.frames > first[i].frames,
    );
    if (live?.track) return live.track;
  }
  throw new Error(`no remote video rising${not ? ` (other than ${not})` : ''}: ${JSON.stringify(last)}`);
}

async function joinThroughExample(browser: Browser, baseUrl: string, sessionId: string, name: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 800, height: 600 },
    permissions: ['camera', 'microphone'],
  });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/?session=${encodeURIComponent(sessionId)}&lowres=1`, { timeout: JOIN_TIMEOUT_MS });
  await page.fill('[data-testid="name-input"]', name);
  await page.click('[data-testid="join-button"]');
  await page.waitForSelector('[data-testid="state"][data-state="connected"]', { timeout: JOIN_TIMEOUT_MS });
  return page;
}

describe('the React example (examples/react)', () => {
  let dist: string;

  beforeAll(async () => {
    // As its README builds it (npm run build in examples/react), into a scratch directory.
    dist = mkdtempSync(join(tmpdir(), 'sr-react-example-'));
    await runToEnd(process.execPath, [
      fromRoot('node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      fromRoot('examples/react/vite.config.ts'),
      '--outDir',
      dist,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ]);
  });
  afterAll(() => {
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
    'on the %s',
    (_name, engine) => {
      let stack: EmbeddedAppStack;
      const pages: Page[] = [];

      beforeAll(async () => {
        stack = await startEmbeddedAppStack(engine, dist);
      });
      afterAll(async () => {
        await Promise.all(
          pages.map((page) =>
            page
              .context()
              .close()
              .catch(() => undefined),
          ),
        );
        await stack?.stop();
      });

      it('<VideoConference> shows the call again after the crash button, without a reload', async () => {
        const sessionId = `react-${engine}-${process.pid}`;
        const ada = await joinThroughExample(stack.chromium.browser, stack.app.url, sessionId, 'Ada');
        pages.push(ada);
        const grace = await joinThroughExample(stack.chromium.browser, stack.app.url, sessionId, 'Grace');
        pages.push(grace);
        const before = await Promise.all([waitForRemoteVideo(ada), waitForRemoteVideo(grace)]);
        for (const page of [ada, grace]) await page.evaluate(() => (window.__sameDocument = true));

        const clickedAt = Date.now();
        await ada.click('[data-testid="crash-button"]');
        await Promise.all(
          [ada, grace].map((page) =>
            page.waitForSelector('[data-testid="moves"][data-count="1"]', { timeout: VIDEO_TIMEOUT_MS }),
          ),
        );
        const after = await Promise.all([waitForRemoteVideo(ada, before[0]), waitForRemoteVideo(grace, before[1])]);
        for (const [i, page] of [ada, grace].entries()) {
          assert.notEqual(after[i], before[i]);
          assert.equal(await page.getAttribute('[data-testid="state"]', 'data-state'), 'connected');
          assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
        }

        // The example shows the move's timings (useResilientRoom().lastMove); the first frame is in by now.
        let move: Parameters<typeof moveTimingRow>[2] & { firstFrameAt?: number } = { detectedAt: 0 };
        for (let i = 0; i < 50 && !move.firstFrameAt; i++, await sleep(100))
          move = JSON.parse((await ada.getAttribute('[data-testid="moves"]', 'data-timings')) ?? 'null') as typeof move;
        assert.ok(move.firstFrameAt, `no first frame in the example's timings: ${JSON.stringify(move)}`);
        logMoveTimings(moveTimingRow('React example', engine, move, clickedAt));
      });
    },
  );
});
