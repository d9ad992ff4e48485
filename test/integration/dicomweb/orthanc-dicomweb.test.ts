import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { startOrthanc, type RunningOrthanc } from '../../helpers/orthanc.js';
import { findOrthanc, needsPeer } from '../../helpers/peers.js';
import { runDicomwebRoundTrip, type DicomwebHttp } from './dicomweb-round-trip.js';

describe('DICOMweb round trip against real Orthanc', () => {
  const peer = findOrthanc();
  let orthanc: RunningOrthanc;
  beforeAll(async () => {
    if (peer.available) orthanc = await startOrthanc();
  });
  beforeEach((context) => needsPeer(context, peer));
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('stores, finds and retrieves byte for byte, frames included', async () => {
    const http: DicomwebHttp = async ({ method, path, headers, body }) => {
      const response = await fetch(`${orthanc.dicomwebBaseUrl}${path}`, {
        method,
        ...(headers ? { headers } : {}),
        ...(body ? { body: new Uint8Array(body) } : {}),
      });
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        responseHeaders[name] = value;
      });
      return {
        status: response.status,
        headers: responseHeaders,
        body: Buffer.from(await response.arrayBuffer()),
      };
    };
    await runDicomwebRoundTrip(http, '7');
  });
});
