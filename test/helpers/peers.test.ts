import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium, findOrthanc, needsPeer, peerDecision } from './peers.js';

const dir = mkdtempSync(join(tmpdir(), 'peers-'));
const present = join(dir, 'chromium');
writeFileSync(present, '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('peer detection (test/helpers/peers.ts)', () => {
  it('finds a peer whose files exist and runs its tests, required or not', () => {
    const chromium = findChromium({ CHROMIUM_PATH: present });
    expect(chromium).toMatchObject({ available: true, missing: [], executablePath: present });
    expect(peerDecision(chromium, {})).toBe('run');
    expect(peerDecision(chromium, { FHIR_FUSION_REQUIRE_PEERS: '1' })).toBe('run');
  });

  it('names each missing file and the install command in one line, and skips with it', () => {
    const orthanc = findOrthanc({ FHIR_FUSION_ORTHANC_BIN: join(dir, 'no-orthanc'), FHIR_FUSION_ORTHANC_DICOMWEB_PLUGIN: present });
    expect(orthanc.available).toBe(false);
    expect(orthanc.missing).toEqual([join(dir, 'no-orthanc')]);
    expect(orthanc.note).toContain(join(dir, 'no-orthanc'));
    expect(orthanc.note).toContain('npm run setup:peers');
    expect(orthanc.note).not.toContain('\n');
    const skipped: string[] = [];
    needsPeer({ skip: ((note: string) => skipped.push(note)) as never }, orthanc, {});
    expect(skipped).toEqual([orthanc.note]);
  });

  it('fails instead of skipping when FHIR_FUSION_REQUIRE_PEERS=1', () => {
    const chromium = findChromium({ CHROMIUM_PATH: join(dir, 'absent') });
    const env = { FHIR_FUSION_REQUIRE_PEERS: '1' };
    expect(peerDecision(chromium, env)).toBe('fail');
    const skip = (): never => {
      throw new Error('must not skip');
    };
    expect(() => needsPeer({ skip }, chromium, env)).toThrow(/FHIR_FUSION_REQUIRE_PEERS=1 and Chromium not found/);
  });
});
