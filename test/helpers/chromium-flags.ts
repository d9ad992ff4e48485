/**
 * Command-line flags for the headless Chromium the browser tests and the README screenshots drive:
 * no sandbox (CI runs as root), no GPU, and none of the background traffic (updates, sync, QUIC)
 * that would reach outside the machine.
 */
export const HEADLESS_CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
