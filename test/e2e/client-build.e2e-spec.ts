// What `npm run build:client` ships (client/vite.config.ts), served by the backend as in production: the
// sample app and nothing of the tests. No baseline page (the failover benchmark's bare livekit-client page
// has a build of its own, npm run build:baseline), and no window.__sessionRebuilder unless the page is
// opened with ?test-hook=1.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { freePort } from '../../src/shared/ports';
import { startApp, type StartedApp } from '../support/app';
import { fromRoot } from '../support/built';
import { spawnNode } from '../support/child-process';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { TEST_HOOK_QUERY } from '../support/participant-page';

// Only ever read inside page.evaluate(), i.e. in the browser.
declare const window: {
  __sessionRebuilder?: { state: string; framesDecoded(): Promise<Record<string, number>> };
  __baseline?: unknown;
};

/** The production config as build:client runs it, into a scratch directory (client/dist is other specs'). */
async function buildClient(outDir: string): Promise<void> {
  const vite = spawnNode(fromRoot('node_modules/vite/bin/vite.js'), [
    'build',
    '--config',
    fromRoot('client/vite.config.ts'),
    '--outDir',
    outDir,
    '--emptyOutDir',
    '--logLevel',
    'warn',
  ]);
  const code = await new Promise<number | null>((resolve) => vite.child.once('exit', resolve));
  if (code !== 0) throw new Error(`vite build exited with ${code}:\n${vite.output()}`);
}

describe('the production client build', () => {
  let dist: string;
  let app: StartedApp;
  let chromium: LaunchedBrowser;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'sr-client-dist-'));
    await buildClient(dist);
    // Its one node is never up: the page is only loaded, never joined.
    app = await startApp({
      urls: [`ws://127.0.0.1:${await freePort()}`],
      apiKey: 'APIclientbuild',
      secret: randomBytes(24).toString('base64url'),
      env: { CLIENT_DIST: dist },
    });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  /** Opens `path` in a fresh context; `run` gets the page once the app's script has run. */
  async function withPage<T>(path: string, run: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
    const context = await chromium.browser.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${app.url}${path}`);
      return await run(page, errors);
    } finally {
      await context.close();
    }
  }

  it('holds no baseline page: no baseline file or chunk, no baseline source in any bundle or source map', () => {
    const files = (readdirSync(dist, { recursive: true }) as string[]).map((file) => file.split('\\').join('/'));
    expect(files).toContain('index.html');
    expect(files.filter((file) => /baseline/i.test(file))).toEqual([]);
    const mentioning = files.filter(
      (file) =>
        /\.(html|js|css|map)$/.test(file) &&
        /__baseline|src\/baseline\/|baseline\.html/.test(readFileSync(join(dist, file), 'utf8')),
    );
    expect(mentioning).toEqual([]);
  });

  it('GET /baseline.html is the sample app (the SPA fallback), not a bare livekit-client page', async () => {
    const seen = await withPage('/baseline.html', async (page) => ({
      title: await page.title(),
      baseline: await page.evaluate(() => typeof window.__baseline),
    }));
    expect(seen).toEqual({ title: 'session-rebuilder', baseline: 'undefined' });
  });

  it('the sample app sets no window.__sessionRebuilder without ?test-hook=1', async () => {
    const seen = await withPage('/?session=built-page', async (page, errors) => ({
      // The app's script ran: it pre-fills the form from ?session=.
      session: await page.inputValue('[data-testid="session-input"]'),
      hook: await page.evaluate(() => typeof window.__sessionRebuilder),
      errors,
    }));
    expect(seen).toEqual({ session: 'built-page', hook: 'undefined', errors: [] });
  });

  it('with ?test-hook=1 the page exposes window.__sessionRebuilder, reading its state', async () => {
    const seen = await withPage(`/?session=built-page&${TEST_HOOK_QUERY}`, async (page, errors) => ({
      hook: await page.evaluate(async () => {
        const hook = window.__sessionRebuilder;
        return hook && { state: hook.state, framesDecoded: await hook.framesDecoded() };
      }),
      errors,
    }));
    expect(seen).toEqual({ hook: { state: 'idle', framesDecoded: {} }, errors: [] });
  });
});
