import type { Provenance, RiskAssessment } from '@medplum/fhirtypes';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/app.js';
import { launchHeadlessChromium, type HeadlessChromium } from '../helpers/headless-chromium.js';
import { findChromium, needsPeer } from '../helpers/peers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startReviewSandbox, waitFor, type ReviewSandbox } from '../integration/review/review-sandbox.js';

/** Debian's Chromium (`npm run setup:peers`; CI installs it), or `CHROMIUM_PATH`. */
const chromiumPeer = findChromium();
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

describe('review app end to end in headless Chromium', () => {
  let db: TestDatabase;
  let sandbox: ReviewSandbox;
  let context: BrowserContext;
  let browser: HeadlessChromium | undefined;
  let patientId: string;
  let assessment: RiskAssessment;

  beforeAll(async () => {
    // Without a browser there is nothing to drive: skip the sandbox too (beforeEach says why).
    if (!chromiumPeer.available) return;
    db = await createTestDatabase();
    // A few patients, so the similar-cases panel has past cases to show.
    sandbox = await startReviewSandbox({ databaseUrl: db.url, patients: 4, seed: 4242 });
    patientId = sandbox.patientIds[0] ?? '';
    assessment = await waitFor(async () => {
      const found = await sandbox.admin.searchResources('RiskAssessment', { subject: `Patient/${patientId}` }, { cache: 'no-cache' });
      return found[0];
    }, 'a RiskAssessment for the demo patient');
    // A later vital sign makes fhir-fusion assess again, so the page has a trend and a history.
    await sandbox.admin.createResource({
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 128, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    assessment = await waitFor(async () => {
      const found = await sandbox.admin.searchResources('RiskAssessment', { subject: `Patient/${patientId}`, _sort: '-date' }, { cache: 'no-cache' });
      return found.length >= 2 ? found[0] : undefined;
    }, 'a second RiskAssessment after a new vital sign');
    await waitFor(async () => {
      const { rows } = await sandbox.server.runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM similar_case');
      return rows[0]!.n >= sandbox.patientIds.length ? true : undefined;
    }, 'every patient in the similar-case index');
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchHeadlessChromium({
      executablePath: chromiumPeer.executablePath,
      viewport: { width: 1024, height: 900 },
    });
    context = browser.context;
  });

  beforeEach((testContext) => needsPeer(testContext, chromiumPeer));

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
    await db?.drop();
  });

  it('EHR launch → consent → review page with the assessment and chart → feedback saved as a Provenance in the EHR', async () => {
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.hostname !== '127.0.0.1') external.push(url.origin);
    });
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    await page.goto(`${sandbox.server.url}/review/launch?${new URLSearchParams({ iss: sandbox.fhirBaseUrl, launch }).toString()}`);

    // The sandbox EHR's consent page.
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${sandbox.server.url}/review`);

    await expect(page.getByRole('heading', { name: 'Latest assessment' }).isVisible()).resolves.toBe(true);
    const trend = page.locator('svg.chart.trend');
    await expect(trend.isVisible()).resolves.toBe(true);
    await expect(page.locator('svg.chart.bars').first().isVisible()).resolves.toBe(true);
    await expect(page.locator('svg.ecg').isVisible()).resolves.toBe(true);
    const thumbnail = page.locator('.thumb img');
    await thumbnail.scrollIntoViewIfNeeded();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.thumb img');
      return img !== null && img.complete;
    });
    expect(await thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(256);
    const bodyText = await page.locator('body').innerText();
    expect(bodyText).toContain(`RiskAssessment/${assessment.id}`);
    // Every assessment is listed, newest first, and plotted.
    await expect(page.locator('table.assessments tbody tr').count()).resolves.toBe(2);
    await expect(trend.locator('circle').count()).resolves.toBe(2);
    // Similar past cases: the other patients' ECG reports, never this patient's own.
    const similar = page.locator('section.similar');
    await expect(similar.isVisible()).resolves.toBe(true);
    await expect(similar.locator('table.similar-cases tbody tr').count()).resolves.toBe(sandbox.patientIds.length - 1);
    const similarText = await similar.innerText();
    expect(similarText).not.toContain(`DiagnosticReport/${patientId}-ecg-report`);
    expect(similarText).toContain('trained on synthetic data');
    await similar.screenshot({ path: join(ARTIFACTS, 'similar-cases.png') });
    // Works at 1024 px: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'review-page.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'review-app.png'), fullPage: false });

    await page.getByLabel('Agree', { exact: true }).check();
    await page.getByLabel(/Comment/).fill('Agree: bibasal crackles and raised BNP fit.');
    await page.getByRole('button', { name: 'Save review to chart' }).click();
    await page.waitForURL(/\/review\?saved=1(&|$)/);
    await expect(page.getByRole('status').innerText()).resolves.toContain('Your review was saved');
    await expect(page.locator('.reviews .review.agree').first().innerText()).resolves.toContain('Agreed');
    await page.screenshot({ path: join(ARTIFACTS, 'review-page-after-feedback.png'), fullPage: true });

    const provenances = await sandbox.admin.searchResources('Provenance', { target: `RiskAssessment/${assessment.id}` }, { cache: 'no-cache' });
    const review = provenances.find((p: Provenance) => p.agent?.some((a) => a.type?.coding?.some((c) => c.code === 'verifier')));
    expect(review?.agent?.[0]?.who?.reference).toBe(`Practitioner/${sandbox.practitionerId}`);
    expect(review?.extension?.find((e) => e.url.endsWith('review-verdict'))?.valueCode).toBe('agree');
    expect(external).toEqual([]);
    await page.close();
  });
});
