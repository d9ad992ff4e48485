import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { HEADLESS_CHROMIUM_FLAGS } from './chromium-flags.js';

/** Options for {@link launchHeadlessChromium}. */
export interface HeadlessChromiumOptions {
  /** The Chromium binary (`findChromium()`). */
  executablePath: string;
  viewport: { width: number; height: number };
  deviceScaleFactor?: number;
  /** Written as the profile's `Default/Preferences` before launch (e.g. blocking third-party cookies). */
  preferences?: Record<string, unknown>;
}

/** A browser context on a fresh profile, and how to close both. */
export interface HeadlessChromium {
  context: BrowserContext;
  /** Closes the browser and deletes its profile folder. */
  close(): Promise<void>;
}

/**
 * Headless Chromium on a fresh, throw-away profile, with {@link HEADLESS_CHROMIUM_FLAGS}: what the
 * browser tests and the README screenshots each set up. A persistent context because profile
 * preferences (third-party cookie blocking) can only be given through a profile folder, and
 * `launchPersistentContext` owns `--user-data-dir`.
 */
export async function launchHeadlessChromium(options: HeadlessChromiumOptions): Promise<HeadlessChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'fhir-fusion-chromium-'));
  try {
    if (options.preferences) {
      await mkdir(join(userDataDir, 'Default'), { recursive: true });
      await writeFile(join(userDataDir, 'Default', 'Preferences'), JSON.stringify(options.preferences));
    }
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: options.executablePath,
      viewport: options.viewport,
      ...(options.deviceScaleFactor === undefined ? {} : { deviceScaleFactor: options.deviceScaleFactor }),
      args: [...HEADLESS_CHROMIUM_FLAGS],
    });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
