import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Loopback-only WebRTC with a fake camera and microphone (see ../shared/notes/livekit-facts.md).
export const CHROMIUM_ARGS = [
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

/** Fails loudly when Chromium is missing: a browser test must never pass by skipping. */
export function requireChromium(): string {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's package (apt-get install chromium) ` +
        'or set CHROMIUM_PATH; browser tests cannot run without it.',
    );
  }
  return CHROMIUM_PATH;
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

// playwright gives every launch a fresh temporary profile (it refuses --user-data-dir in launch()).
export async function launchChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({ executablePath: requireChromium(), args: CHROMIUM_ARGS, timeout: 30_000 });
  return { browser, close: () => browser.close().catch(() => undefined) };
}
