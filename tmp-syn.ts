import { readFileSync, readdirSync } from 'node:fs';
import { createSandboxEhr } from './src/sandbox/ehr/sandbox-ehr.js';
const dir = '/work/shared/fixtures/synthea-r4';
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const ordered = [...files.filter((f) => /^(hospital|practitioner)Information/.test(f)), ...files.filter((f) => !/^(hospital|practitioner)Information/.test(f))];
const s = await createSandboxEhr();
for (const f of ordered) {
  const t = performance.now();
  const body = readFileSync(`${dir}/${f}`, 'utf8');
  const r = await s.app.inject({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json' }, payload: body });
  const b = JSON.parse(r.body);
  console.log(f.slice(0, 30), JSON.parse(body).entry.length, r.statusCode, Math.round(performance.now() - t), r.statusCode >= 400 ? JSON.stringify(b).slice(0, 600) : '');
}
const p = await s.app.inject({ method: 'GET', url: '/fhir/Patient?_count=0' }); console.log('patients', JSON.parse(p.body).total);
await s.close();
