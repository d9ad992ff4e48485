import { existsSync } from 'node:fs';
import type { TestContext } from 'vitest';

/**
 * Programs some tests need that npm cannot install: Debian's Orthanc with its DICOMweb plugin (a
 * real PACS) and Debian's Chromium (driven by playwright-core). `npm run setup:peers` installs
 * them. This module is the one place that decides whether they are there, and what a test does
 * when one is not: skip with one line naming what is missing and how to install it, or — with
 * `FHIR_FUSION_REQUIRE_PEERS=1`, as in CI — fail, because a skipped test would hide a gap.
 */
export interface Peer {
  /** Display name, e.g. `Orthanc`. */
  name: string;
  /** Files the peer needs; all must exist. */
  paths: string[];
  /** The paths that do not exist (empty when the peer is available). */
  missing: string[];
  /** True when every path exists. */
  available: boolean;
  /** The one line a skipped test carries: what is missing and the command that installs it. */
  note: string;
}

/** Environment the peer detection reads (defaults to `process.env`; tests of this helper pass their own). */
export type PeerEnv = Readonly<Record<string, string | undefined>>;

/** The command that installs every peer (package.json script → scripts/setup-peers.sh). */
export const SETUP_PEERS_COMMAND = 'npm run setup:peers';

function peer(name: string, paths: string[], debianPackages: string): Peer {
  const missing = paths.filter((p) => !existsSync(p));
  return {
    name,
    paths,
    missing,
    available: missing.length === 0,
    note: `${name} not found (${missing.join(', ')}): install ${debianPackages} with \`${SETUP_PEERS_COMMAND}\``,
  };
}

/**
 * Debian's Orthanc (`/usr/sbin/Orthanc`, package `orthanc`) and its DICOMweb plugin (package
 * `orthanc-dicomweb`). `FHIR_FUSION_ORTHANC_BIN` / `FHIR_FUSION_ORTHANC_DICOMWEB_PLUGIN` point
 * elsewhere (another install, or a path that does not exist to try the "missing" path).
 */
export function findOrthanc(env: PeerEnv = process.env): Peer & { binary: string; dicomwebPlugin: string } {
  const binary = env.FHIR_FUSION_ORTHANC_BIN ?? '/usr/sbin/Orthanc';
  // Where Debian's orthanc-dicomweb puts the plugin (`dpkg -L orthanc-dicomweb`).
  const dicomwebPlugin = env.FHIR_FUSION_ORTHANC_DICOMWEB_PLUGIN ?? '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
  return { ...peer('Orthanc', [binary, dicomwebPlugin], 'the Debian packages orthanc orthanc-dicomweb'), binary, dicomwebPlugin };
}

/** Debian's Chromium (`/usr/bin/chromium`, package `chromium`), or the browser `CHROMIUM_PATH` names. */
export function findChromium(env: PeerEnv = process.env): Peer & { executablePath: string } {
  const executablePath = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return { ...peer('Chromium', [executablePath], 'the Debian package chromium'), executablePath };
}

/** True when `FHIR_FUSION_REQUIRE_PEERS=1`: a missing peer fails the test instead of skipping it. */
export function peersRequired(env: PeerEnv = process.env): boolean {
  return env.FHIR_FUSION_REQUIRE_PEERS === '1';
}

/** What a test that needs `peer` does: run, skip with the note, or fail. */
export function peerDecision(peer: Peer, env: PeerEnv = process.env): 'run' | 'skip' | 'fail' {
  if (peer.available) return 'run';
  return peersRequired(env) ? 'fail' : 'skip';
}

/**
 * Call first in a test (or in `beforeEach`) that needs `peer`. When the peer is missing the test
 * is skipped with the peer's note (listed by `test/helpers/skip-note-reporter.ts` at the end of
 * the run), or fails when `FHIR_FUSION_REQUIRE_PEERS=1`.
 */
export function needsPeer(context: Pick<TestContext, 'skip'>, peer: Peer, env: PeerEnv = process.env): void {
  const decision = peerDecision(peer, env);
  if (decision === 'skip') context.skip(peer.note);
  if (decision === 'fail') throw new Error(`FHIR_FUSION_REQUIRE_PEERS=1 and ${peer.note}`);
}
