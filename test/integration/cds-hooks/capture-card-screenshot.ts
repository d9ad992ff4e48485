/**
 * Renders the card fhir-fusion returns for an assessed sandbox patient the way CDS clients lay
 * cards out (`renderCardsHtml`) and screenshots it with headless Chromium into
 * docs/images/cds-card.png. Run: `DATABASE_URL=postgres://… npx tsx
 * test/integration/cds-hooks/capture-card-screenshot.ts` (Debian `chromium` installed by `npm run setup:peers`, or `CHROMIUM_PATH`; without
 * DATABASE_URL the embedded Postgres is used).
 */
import type { Bundle } from '@medplum/fhirtypes';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../../../src/app.js';
import type { CdsResponse } from '../../../src/review/cds-hooks/cds-hooks-types.js';
import { renderCardsHtml } from '../../helpers/render-cards-html.js';
import { AIAST } from '../../../src/contracts/fusion-terminology.js';
import { findChromium } from '../../helpers/peers.js';
import { startCdsEnvironment } from './cds-environment.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function main(): Promise<void> {
  const admin = process.env.DATABASE_URL;
  let databaseUrl: string | undefined;
  let cleanup: () => Promise<void>;
  if (admin) {
    const name = `ff_shot_${randomBytes(5).toString('hex')}`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    cleanup = async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'ff-shot-'));
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
    process.env.DATA_DIR = dir;
  }
  const env = await startCdsEnvironment({ databaseUrl, settings: databaseUrl ? {} : { DATA_DIR: process.env.DATA_DIR ?? '' } });
  try {
    const patientId = env.patient.id ?? '';
    const search = `${env.fhirBaseUrl}/RiskAssessment?patient=${patientId}&_security=${encodeURIComponent(`${AIAST.system}|${AIAST.code}`)}&_sort=-date`;
    const assessments = (await (await fetch(search, { headers: { accept: 'application/fhir+json' } })).json()) as Bundle;
    const serviceUrl = `${env.publicUrl}/cds-services/fhir-fusion-patient-view`;
    const response = await fetch(serviceUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await env.client.sign(serviceUrl)}` },
      body: JSON.stringify({
        hook: 'patient-view',
        hookInstance: randomUUID(),
        context: { userId: 'Practitioner/example', patientId },
        prefetch: { patient: { resourceType: 'Patient', id: patientId }, assessments },
      }),
    });
    const { cards } = (await response.json()) as CdsResponse;
    const peer = findChromium();
    if (!peer.available) throw new Error(peer.note);
    const browser = await chromium.launch({ executablePath: peer.executablePath, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 820, height: 400 }, deviceScaleFactor: 1 });
      await page.setContent(renderCardsHtml(cards, 'patient-view · fhir-fusion (sandbox patient, synthetic-data model)'));
      const out = join(REPO_ROOT, 'docs', 'images', 'cds-card.png');
      await page.screenshot({ path: out, fullPage: true });
      console.log(`wrote ${out} (${cards.length} card(s))`);
    } finally {
      await browser.close();
    }
  } finally {
    await env.stop();
    await cleanup();
  }
}

await main();
