// The package as a LiveKit developer gets it: `npm pack` of packages/resilient-room, the tarball
// installed (from npm's local cache where it can) into a scratch copy of examples/livekit-client outside
// this tree, that app type-checked against the installed declarations and bundled by Vite, then served
// by the backend and driven in Chromium through a SIGKILL of the session's media node. One engine (the
// first of TEST_ENGINES): the sample and React specs cover both; this one covers the package's shipping.
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { ENGINE_NAMES, ENGINES } from '../support/engines';
import { sleep } from '../support/participant-page';

const PACKAGE_DIR = fromRoot('packages/resilient-room');
const EXAMPLE_DIR = fromRoot('examples/livekit-client');
const JOIN_TIMEOUT_MS = 20_000;
const VIDEO_TIMEOUT_MS = 15_000;
const CHAT_TIMEOUT_MS = 10_000;

interface PackedFile {
  path: string;
}
interface PackResult {
  filename: string;
  files: PackedFile[];
}

// Only ever read inside page.evaluate(), i.e. in the browser.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  srcObject: { getVideoTracks(): Array<{ id: string }> } | null;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}
declare const document: {
  body: PageElement;
  querySelector(selector: string): (PageElement & { value: string; click(): void }) | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { attributes: boolean; attributeFilter: string[] }): void;
  disconnect(): void;
}

/** The <video> elements the app attached for `identity` (trackSubscribed), with their track and frames shown. */
function videosOf(page: Page, identity: string): Promise<Array<{ track?: string; frames: number }>> {
  return page.evaluate(
    (id) =>
      Array.from(document.querySelectorAll('#videos video'))
        .filter((video) => video.dataset.identity === id)
        .map((video) => ({
          track: video.srcObject?.getVideoTracks()[0]?.id,
          frames: video.getVideoPlaybackQuality().totalVideoFrames,
        })),
    identity,
  );
}

/** Exactly one <video> of `identity` shows rising frames, on a track other than `not`; answers its track id. */
async function waitForOneRisingVideo(page: Page, identity: string, not?: string): Promise<string> {
  const deadline = Date.now() + VIDEO_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    const first = await videosOf(page, identity);
    await sleep(300);
    const second = await videosOf(page, identity);
    last = second;
    const only = second.length === 1 ? second[0] : undefined;
    if (only?.track && only.track !== not && only.track === first[0]?.track && only.frames > first[0].frames)
      return only.track;
  }
  throw new Error(`${identity}'s video is not one rising <video>${not ? ` off ${not}` : ''}: ${JSON.stringify(last)}`);
}

/** What the app's event list shows of one kind (joined, left, room, error), in order. */
function events(page: Page, kind: string): Promise<string[]> {
  return page.evaluate(
    (k) =>
      Array.from(document.querySelectorAll(`#events li[data-kind="${k}"]`)).map((item) => item.dataset.value ?? ''),
    kind,
  );
}

async function joinPage(browser: Browser, baseUrl: string, sessionId: string, name: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 640, height: 480 },
    permissions: ['camera', 'microphone'],
  });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/?lowres=1`, { timeout: JOIN_TIMEOUT_MS });
  await page.fill('#join input[name="session"]', sessionId);
  await page.fill('#join input[name="name"]', name);
  await page.click('#join button');
  await page.waitForSelector('body[data-state="connected"]', { timeout: JOIN_TIMEOUT_MS });
  return page;
}

const engine = ENGINES[0];

describe('the packed package in a scratch app outside the tree', () => {
  let scratch: string;
  let packed: PackResult;

  beforeAll(async () => {
    if (!engine) throw new Error('TEST_ENGINES names no independent-node engine (dev or livekit) for the pack spec');
    scratch = mkdtempSync(join(tmpdir(), 'sr-pack-app-'));
    // `prepack` builds dist/ first, as it would before a publish.
    const out = await runToEnd('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: PACKAGE_DIR });
    packed = (JSON.parse(out.slice(out.indexOf('['))) as PackResult[])[0]!;
    for (const file of ['index.html', 'tsconfig.json', 'src'])
      cpSync(join(EXAMPLE_DIR, file), join(scratch, file), { recursive: true });
    // The example's own package.json with the dependency pointing at the tarball; its build tools
    // (TypeScript, Vite) are this tree's, run against the scratch app's node_modules.
    const manifest = JSON.parse(readFileSync(join(EXAMPLE_DIR, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    manifest.dependencies['@session-rebuilder/resilient-room'] = `file:./${packed.filename}`;
    delete manifest.devDependencies;
    writeFileSync(join(scratch, 'package.json'), JSON.stringify(manifest, null, 2));
    // --prefer-offline, not --offline: the tree's own install fetched the locked tarballs but not the
    // registry's metadata that resolving the app's versions needs, so a machine whose npm cache is new
    // (a fresh CI machine) has none of it; what the cache holds is not fetched again.
    await runToEnd('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], {
      cwd: scratch,
    });
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('ships ESM and declarations only, and installs as files (not a link into this tree)', () => {
    const paths = packed.files.map((f) => f.path).sort();
    for (const file of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/react.js', 'dist/react.d.ts'])
      assert.ok(paths.includes(file), `${file} is not in the tarball: ${paths.join(', ')}`);
    assert.deepEqual(
      paths.filter((p) => !p.startsWith('dist/') && p !== 'package.json' && p !== 'README.md'),
      [],
      'the tarball carries sources or fixtures',
    );
    const installed = join(scratch, 'node_modules/@session-rebuilder/resilient-room');
    assert.equal(lstatSync(installed).isSymbolicLink(), false);
    assert.ok(existsSync(join(scratch, 'node_modules/livekit-client/package.json')), 'the livekit-client peer');
    const declarations = readFileSync(join(installed, 'dist/index.d.ts'), 'utf8');
    assert.doesNotMatch(declarations, /@contracts|\.\.\/\.\.\/src/, 'the declarations point back into this repository');
  });

  it('type-checks the app against the installed declarations, and bundles it', async () => {
    // Both at once (one core each): tsc checks, Vite bundles without checking.
    const tsc = [fromRoot('node_modules/typescript/bin/tsc'), '-p', join(scratch, 'tsconfig.json')];
    const vite = [fromRoot('node_modules/vite/bin/vite.js'), 'build', scratch, '--outDir', join(scratch, 'dist')];
    await Promise.all([
      runToEnd(process.execPath, tsc, { cwd: scratch }),
      runToEnd(process.execPath, [...vite, '--logLevel', 'warn'], { cwd: scratch }),
    ]);
    assert.ok(existsSync(join(scratch, 'dist/index.html')));
  });

  describe(`driven in Chromium through a SIGKILL (${engine ? ENGINE_NAMES[engine] : 'no engine'})`, () => {
    let stack: EmbeddedAppStack;
    const pages: Page[] = [];

    beforeAll(async () => {
      assert.ok(existsSync(join(scratch, 'dist/index.html')), 'the scratch app was not built');
      stack = await startEmbeddedAppStack(engine!, join(scratch, 'dist'));
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

    it('video comes back on the new node; no phantom departure, no duplicate video; a chat line sent during the move arrives once', async () => {
      const sessionId = `packed-${process.pid}`;
      const ada = await joinPage(stack.chromium.browser, stack.app.url, sessionId, 'Ada');
      pages.push(ada);
      const grace = await joinPage(stack.chromium.browser, stack.app.url, sessionId, 'Grace');
      pages.push(grace);
      const [adaId, graceId] = await Promise.all(
        [ada, grace].map((page) => page.getAttribute('body', 'data-identity')),
      );
      assert.ok(adaId && graceId);
      const before = await Promise.all([waitForOneRisingVideo(ada, graceId), waitForOneRisingVideo(grace, adaId)]);

      // Ada types a chat line the moment her page says the call is rebuilding: during the move for sure.
      await ada.evaluate(() => {
        const observer = new MutationObserver(() => {
          if (document.body.dataset.state !== 'rebuilding') return;
          observer.disconnect();
          document.querySelector('#chat input')!.value = 'typed during the move';
          document.querySelector('#chat button')!.click();
        });
        observer.observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
      });
      const { requestedAt } = await stack.crashNodeOf(sessionId);

      const after = await Promise.all([
        waitForOneRisingVideo(ada, graceId, before[0]),
        waitForOneRisingVideo(grace, adaId, before[1]),
      ]);
      const videoBackMs = Date.now() - requestedAt;
      for (const page of [ada, grace]) assert.equal(await page.getAttribute('body', 'data-state'), 'connected');
      assert.notEqual(after[0], before[0]);

      // The chat line: at Grace once, marked delayed.
      await grace.waitForSelector(`#messages li[data-from="${adaId}"]`, { timeout: CHAT_TIMEOUT_MS });
      await sleep(500);
      const lines = await grace.evaluate(
        (from) =>
          Array.from(document.querySelectorAll(`#messages li[data-from="${from}"]`)).map((item) => ({
            text: item.textContent ?? '',
            delayed: item.dataset.delayed,
          })),
        adaId,
      );
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.match(lines[0]!.text, /typed during the move/);
      assert.equal(lines[0]!.delayed, 'true', 'a line sent while the node was dead is not marked delayed');

      // Events as the app heard them: Grace arrived once at Ada, nobody left, two Rooms each.
      assert.deepEqual(await events(ada, 'joined'), [graceId]);
      assert.deepEqual(await events(grace, 'joined'), []);
      assert.deepEqual(await events(ada, 'left'), []);
      assert.deepEqual(await events(grace, 'left'), []);
      assert.equal((await events(ada, 'room')).length, 2);
      assert.deepEqual(await events(ada, 'error'), []);

      const move = JSON.parse((await ada.getAttribute('#move', 'data-timings')) ?? 'null') as
        Parameters<typeof moveTimingRow>[2] | null;
      assert.ok(move?.firstFrameAt, `no finished move with a first frame at Ada: ${JSON.stringify(move)}`);
      logMoveTimings(moveTimingRow('packed scratch app', engine!, move, requestedAt));
      console.log(
        `packed scratch app: SIGKILL to both pages showing the other's video again (seen by the test) ${videoBackMs} ms`,
      );
    });
  });
});
