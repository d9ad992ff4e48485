import { afterAll, beforeAll, describe, it } from 'vitest';
import { startOrthanc, type RunningOrthanc } from '../../helpers/orthanc.js';
import { runDicomwebRoundTrip, type DicomwebHttp } from './dicomweb-round-trip.js';

describe('DICOMweb round trip against real Orthanc', () => {
  let orthanc: RunningOrthanc;
  beforeAll(async () => {
    orthanc = await startOrthanc();
  });
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
