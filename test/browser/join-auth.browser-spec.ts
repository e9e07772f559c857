// The sample app with a backend started with --auth-secret: `?auth=<JWT>` is sent with the join, and the
// backend registers the participant under the token's name (and the page drops the token from its URL);
// without it, the page shows the backend's reason and nothing is created. (The scripted nodes carry no media: the join itself is what is checked.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { operatorApi } from '../support/session-client';

const AUTH_SECRET = 'browser-spec-auth-secret-0123456789abc';

describe('sample app: ?auth= against --auth-secret', () => {
  let stack: InProcessApp;
  let chromium: LaunchedBrowser;
  beforeAll(async () => {
    stack = await startInProcessApp({ args: ['--auth-secret', AUTH_SECRET] });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await stack?.close();
  });

  const open = async (query: string) => {
    const context = await chromium.browser.newContext({ permissions: ['camera', 'microphone'] });
    const page = await context.newPage();
    await page.goto(`${stack.url}/?lowres=1&${query}`);
    await page.fill('[data-testid="name-input"]', 'Typed Name');
    await page.click('[data-testid="join-button"]');
    return { page, context };
  };
  const participantsOf = async (sessionId: string) =>
    (
      await operatorApi<Array<{ sessionId: string; participants: Array<{ name: string }> }>>(stack.url, '/api/sessions')
    ).body
      .find((s) => s.sessionId === sessionId)
      ?.participants.map((p) => p.name);

  it('without ?auth= the page says why the join was refused; nothing is created', async () => {
    const { page, context } = await open('session=locked');
    try {
      await page.waitForSelector('[data-testid="overlay"][data-state="failed"]', { timeout: 15_000 });
      expect(await page.textContent('[data-testid="overlay"]')).toMatch(/admits joins with a token from your app/);
      expect(await participantsOf('locked')).toBeUndefined();
    } finally {
      await context.close();
    }
  });

  it("with ?auth=<JWT> the join goes through under the token's name", async () => {
    const jwt = await new SignJWT({ sessions: 'team-*', name: 'Ann from the app' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(AUTH_SECRET));
    const { context } = await open(`session=team-blue&auth=${encodeURIComponent(jwt)}`);
    try {
      const deadline = Date.now() + 15_000;
      while (!(await participantsOf('team-blue')) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await participantsOf('team-blue')).toEqual(['Ann from the app']);
      expect(context.pages()[0]!.url()).not.toContain('auth='); // not left in the address bar or history
    } finally {
      await context.close();
    }
  });
});
