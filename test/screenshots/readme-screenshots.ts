/**
 * `npm run docs:screenshots`: regenerates the README's screenshots of the review app and the CDS
 * card from a demo run — the sandbox EHR behind its SMART server, a synthetic cohort, fhir-fusion
 * serving two fusion models (late-fusion and attention-fusion, reference models trained on
 * synthetic data) — driven in headless Chromium:
 *
 * - `docs/images/review-app.png`: the review page of a demo patient at 1024 px;
 * - `docs/images/similar-cases.png`: its similar-cases panel;
 * - `docs/images/cds-card.png`: the patient-view cards the CDS service returns for that patient.
 *
 * Tests never write under docs/ (issue 25.8); they save their screenshots to `test-artifacts/`.
 * Needs Postgres (`DATABASE_URL` or `TEST_DATABASE_URL`, an admin URL: a throw-away database is
 * created and dropped) and Debian's `chromium` (`npm run setup:peers`, or `CHROMIUM_PATH`).
 */
import type { RiskAssessment } from '@medplum/fhirtypes';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from '../../src/app.js';
import type { CdsResponse } from '../../src/review/cds-hooks/cds-hooks-types.js';
import { findChromium } from '../helpers/peers.js';
import { launchHeadlessChromium } from '../helpers/headless-chromium.js';
import { renderCardsHtml } from '../helpers/render-cards-html.js';
import { startCdsTestClient } from '../integration/cds-hooks/cds-client-keys.js';
import { startReviewSandbox, waitFor } from '../integration/review/review-sandbox.js';

const IMAGES = join(REPO_ROOT, 'docs', 'images');
const MODELS = ['late-fusion', 'attention-fusion'];

async function throwAwayDatabase(admin: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ff_shots_${randomBytes(5).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function main(): Promise<void> {
  const admin = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('Set DATABASE_URL (or TEST_DATABASE_URL) to an admin Postgres URL.');
  const peer = findChromium();
  if (!peer.available) throw new Error(peer.note);
  const db = await throwAwayDatabase(admin);
  const client = await startCdsTestClient();
  const sandbox = await startReviewSandbox({
    databaseUrl: db.url,
    patients: 4,
    seed: 4242,
    models: MODELS.map((m) => `${m}@1`).join(','),
    settings: { CDS_HOOKS_CLIENTS: JSON.stringify({ [client.iss]: client.jwksUrl }) },
  });
  try {
    const patientId = sandbox.patientIds[0] ?? '';
    const byModel = async (min: number) =>
      waitFor(
        async () => {
          const found: RiskAssessment[] = await sandbox.admin.searchResources(
            'RiskAssessment',
            { subject: `Patient/${patientId}` },
            { cache: 'no-cache' },
          );
          const models = MODELS.map(
            (m) => found.filter((ra) => ra.method?.coding?.some((c) => c.code === m)).length,
          );
          return models.every((n) => n >= min) ? found : undefined;
        },
        `${min} assessment(s) by each model`,
        180_000,
      );
    await byModel(1);
    // The patient deteriorates over two rounds of results (vital signs, then labs): fhir-fusion
    // assesses again after each, so the chart has a line per model and the card a risk to show.
    const rounds: [string, string, number, string][][] = [
      [
        ['8867-4', 'Heart rate', 124, '/min'],
        ['9279-1', 'Respiratory rate', 30, '/min'],
        ['59408-5', 'Oxygen saturation', 87, '%'],
      ],
      [
        ['33762-6', 'NT-proBNP', 2400, 'pg/mL'],
        ['8310-5', 'Body temperature', 38.4, 'Cel'],
        ['1988-5', 'C reactive protein', 90, 'mg/L'],
      ],
    ];
    for (const [i, round] of rounds.entries()) {
      for (const [code, display, value, unit] of round) {
        await sandbox.admin.createResource({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code, display }], text: display },
          subject: { reference: `Patient/${patientId}` },
          effectiveDateTime: new Date().toISOString(),
          valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
        });
      }
      await byModel(i + 2);
    }
    await waitFor(
      async () => {
        const { rows } = await sandbox.server.runtime.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM similar_case',
        );
        return rows[0]!.n >= sandbox.patientIds.length ? true : undefined;
      },
      'every patient in the similar-case index',
      180_000,
    );

    await mkdir(IMAGES, { recursive: true });
    const browser = await launchHeadlessChromium({
      executablePath: peer.executablePath,
      viewport: { width: 1024, height: 900 },
      deviceScaleFactor: 1,
    });
    const { context } = browser;
    try {
      const page = await context.newPage();
      const launch = sandbox.auth.createLaunch({ patient: patientId });
      await page.goto(
        `${sandbox.server.url}/review/launch?${new URLSearchParams({ iss: sandbox.fhirBaseUrl, launch }).toString()}`,
      );
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForURL(new RegExp(`^${sandbox.server.url}/review`));
      // The page's images load lazily (loading="lazy"): bring each into view so it is fetched.
      for (const img of await page.locator('img').all()) await img.scrollIntoViewIfNeeded();
      await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
      await page.locator('section.similar').screenshot({ path: join(IMAGES, 'similar-cases.png') });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(IMAGES, 'review-app.png'), fullPage: false });

      const serviceUrl = `${sandbox.server.url}/cds-services/fhir-fusion-patient-view`;
      const response = await fetch(serviceUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await client.sign(serviceUrl)}`,
        },
        body: JSON.stringify({
          hook: 'patient-view',
          hookInstance: randomUUID(),
          context: { userId: `Practitioner/${sandbox.practitionerId}`, patientId },
          // The service's prefetch template (`assessments`), filled the way a CDS client would.
          prefetch: {
            patient: { resourceType: 'Patient', id: patientId },
            assessments: {
              resourceType: 'Bundle',
              type: 'searchset',
              entry: (
                await sandbox.admin.searchResources(
                  'RiskAssessment',
                  { subject: `Patient/${patientId}` },
                  { cache: 'no-cache' },
                )
              ).map((resource) => ({ resource })),
            },
          },
        }),
      });
      if (!response.ok)
        throw new Error(`CDS service answered HTTP ${response.status}: ${await response.text()}`);
      const { cards } = (await response.json()) as CdsResponse;
      const cardPage = await context.newPage();
      await cardPage.setViewportSize({ width: 820, height: 400 });
      await cardPage.setContent(
        renderCardsHtml(cards, 'patient-view · fhir-fusion (sandbox patient, synthetic-data models)'),
      );
      await cardPage.screenshot({ path: join(IMAGES, 'cds-card.png'), fullPage: true });
      console.log(
        `wrote review-app.png, similar-cases.png and cds-card.png (${cards.length} card(s)) to ${IMAGES}`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    await sandbox.close();
    await client.close();
    await db.drop();
  }
}

await main();
