import { chromium } from 'playwright-core';
import { requireChromium, type LaunchedBrowser } from './chromium';

// Same loopback/fake-media flags as ./chromium.ts. That launcher passes --user-data-dir, which
// playwright-core 1.5x refuses in launch() ("Pass userDataDir parameter to launchPersistentContext");
// playwright already gives every launch a fresh temporary profile, so the flag is simply left out here.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/** Launches Debian's Chromium; throws loudly when it is missing (never a silent skip). */
export async function launchTestChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({ executablePath: requireChromium(), args: FLAGS, timeout: 30_000 });
  return { browser, close: () => browser.close().catch(() => undefined) };
}
