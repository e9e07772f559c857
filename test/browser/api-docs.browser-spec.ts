// The API description's page (Swagger UI at /api/docs) works in Chromium under the app's
// Content-Security-Policy: every operation shown, once, with no console error or page error; both with
// operators behind the admin token and in dev mode (where the dev tools are described too).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { startInProcessApp } from '../support/in-process-app';

describe('API docs in Chromium', () => {
  let chromium: LaunchedBrowser;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close().catch(() => undefined);
  });

  const configurations: Array<[string, Parameters<typeof startInProcessApp>[0]]> = [
    ['with --admin-token', {}],
    ['in dev mode', { adminToken: null, args: ['--dev'] }],
  ];
  for (const [name, options] of configurations) {
    it(`/api/docs lists every operation of /api/docs-json, with no console or page error (${name})`, async () => {
      const stack = await startInProcessApp(options);
      try {
        const operations = Object.values(
          ((await (await fetch(`${stack.url}/api/docs-json`)).json()) as { paths: Record<string, object> }).paths,
        ).reduce((n, methods) => n + Object.keys(methods).length, 0);
        const page = await chromium.browser.newPage();
        const problems: string[] = [];
        page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
        page.on('pageerror', (error) => problems.push(String(error)));
        await page.goto(`${stack.url}/api/docs`);
        await page.waitForSelector('.opblock', { timeout: 15_000 });
        expect(await page.locator('.opblock').count()).toBe(operations);
        expect(problems).toEqual([]);
        await page.close();
      } finally {
        await stack.close();
      }
    });
  }
});
