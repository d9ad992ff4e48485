import type { RiskAssessment } from '@medplum/fhirtypes';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Frame } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchHeadlessChromium, type HeadlessChromium } from '../helpers/headless-chromium.js';
import { findChromium, needsPeer } from '../helpers/peers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startReviewSandbox, waitFor, type ReviewSandbox } from '../integration/review/review-sandbox.js';

const chromiumPeer = findChromium();

/** Serves `handler` on 127.0.0.1 and returns its port. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function frameAt(page: import('playwright-core').Page, pattern: RegExp): Promise<Frame> {
  return waitFor(
    async () => page.frames().find((f) => pattern.test(f.url())),
    `a frame at ${pattern}`,
    30_000,
  );
}

// Issue 25.0: with the EHR on one site (127.0.0.1) and fhir-fusion on another (localhost), the
// launch inside the EHR's frame ended on "Sign-in could not be verified": SameSite=Lax cookies are
// neither set nor sent in a cross-site frame. Chromium runs with third-party cookies blocked.
describe('review app embedded in a cross-site EHR frame, third-party cookies blocked (Chromium)', () => {
  let db: TestDatabase;
  let sandbox: ReviewSandbox;
  let context: BrowserContext;
  let browser: HeadlessChromium | undefined;
  let patientId: string;
  let assessment: RiskAssessment;
  const servers: Server[] = [];
  let ehrPageUrl: (src: string) => string;
  let probeUrl: string;

  beforeAll(async () => {
    if (!chromiumPeer.available) return;
    // The "EHR": a page on 127.0.0.1 (the EHR's site) that embeds the app, as EHRs embed SMART apps.
    const ehrPage = await serve((request, response) => {
      const src = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('src') ?? '';
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        `<!doctype html><title>EHR</title><h1>Chart</h1><iframe src="${src.replace(/"/g, '&quot;')}" width="1000" height="800"></iframe>`,
      );
    });
    // A control on fhir-fusion's site (localhost): a plain SameSite=None cookie set in the frame.
    const probe = await serve((request, response) => {
      if (request.url === '/set') {
        response.writeHead(200, {
          'set-cookie': 'probe=1; Path=/; SameSite=None; Secure',
          'content-type': 'text/plain',
        });
        response.end('set');
      } else {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(`cookie:${request.headers.cookie ?? ''}`);
      }
    });
    servers.push(ehrPage.server, probe.server);
    db = await createTestDatabase();
    sandbox = await startReviewSandbox({
      databaseUrl: db.url,
      patients: 1,
      seed: 77,
      autoApprove: true,
      publicHost: 'localhost',
      // The EHR page's origin may frame the app (REVIEW_FRAME_ANCESTORS, issue 25.2).
      settings: { REVIEW_FRAME_ANCESTORS: `http://127.0.0.1:${ehrPage.port}` },
    });
    patientId = sandbox.patientIds[0] ?? '';
    assessment = await waitFor(async () => {
      const found = await sandbox.admin.searchResources(
        'RiskAssessment',
        { subject: `Patient/${patientId}` },
        { cache: 'no-cache' },
      );
      return found[0];
    }, 'a RiskAssessment for the patient');
    ehrPageUrl = (src) => `http://127.0.0.1:${ehrPage.port}/?${new URLSearchParams({ src }).toString()}`;
    probeUrl = `http://localhost:${probe.port}`;
    browser = await launchHeadlessChromium({
      executablePath: chromiumPeer.executablePath,
      viewport: { width: 1100, height: 900 },
      // Chrome's "Block third-party cookies" setting (profile preferences), as browsers are heading to by default.
      preferences: { profile: { block_third_party_cookies: true, cookie_controls_mode: 1 } },
    });
    context = browser.context;
  });

  beforeEach((testContext) => needsPeer(testContext, chromiumPeer));

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    await sandbox?.close();
    await db?.drop();
  });

  it('blocks ordinary third-party cookies in this browser (control)', async () => {
    const page = await context.newPage();
    await page.goto(ehrPageUrl(`${probeUrl}/set`));
    await frameAt(page, /\/set$/);
    await page.goto(ehrPageUrl(`${probeUrl}/echo`));
    const frame = await frameAt(page, /\/echo$/);
    await frame.waitForLoadState();
    expect(await frame.locator('body').innerText()).toBe('cookie:');
    await page.close();
  });

  it('EHR launch inside the cross-site frame → review page → feedback saved, all in the frame', async () => {
    const page = await context.newPage();
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    const publicUrl = sandbox.server.url.replace('127.0.0.1', 'localhost');
    await page.goto(
      ehrPageUrl(
        `${publicUrl}/review/launch?${new URLSearchParams({ iss: sandbox.fhirBaseUrl, launch }).toString()}`,
      ),
    );
    const frame = await frameAt(page, /\/review(\?|$)/);
    await frame.waitForLoadState();
    const text = await frame.locator('body').innerText();
    expect(text).not.toContain('Sign-in could not be verified');
    expect(text).toContain('Latest assessment');
    expect(text).toContain(`RiskAssessment/${assessment.id}`);

    await frame.getByLabel('Agree', { exact: true }).check();
    await frame.getByRole('button', { name: 'Save review to chart' }).click();
    await waitFor(
      async () => (/saved=1/.test(frame.url()) ? true : undefined),
      'the saved page in the frame',
      30_000,
    );
    await frame.waitForLoadState();
    expect(await frame.getByRole('status').innerText()).toContain('Your review was saved');
    // The top-level page is still the EHR's.
    expect(new URL(page.url()).hostname).toBe('127.0.0.1');
    await page.close();
  });

  it('the same cross-site launch in its own window (top level) works in the same browser', async () => {
    const page = await context.newPage();
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    const publicUrl = sandbox.server.url.replace('127.0.0.1', 'localhost');
    await page.goto(
      `${publicUrl}/review/launch?${new URLSearchParams({ iss: sandbox.fhirBaseUrl, launch }).toString()}`,
    );
    await page.waitForURL(new RegExp(`^${publicUrl}/review(\\?|$)`));
    const text = await page.locator('body').innerText();
    expect(text).toContain('Latest assessment');
    expect(text).toContain(`RiskAssessment/${assessment.id}`);
    await page.close();
  });
});
