import type { ServedModel } from '../../contracts/served-model.js';
import type { CardModel } from './build-risk-card.js';
import type { LatestAssessment } from './select-latest-assessments.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Path of the model-card page of a served model, under the CDS Hooks base. */
export function modelCardPath(name: string, version: string): string {
  return `/cds-services/model-cards/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
}

/**
 * Names the model behind an assessment for `card.source`: RiskAssessment.method carries the
 * model code and `"<title> <version>"` as display (writeback/build-model-device.ts
 * modelMethodCoding), which is matched against the served models to find the version and link
 * its model card. A model this server no longer serves keeps its label and gets no link.
 */
export function createCardModelLookup(models: () => readonly ServedModel[], publicUrl: string): (latest: LatestAssessment) => CardModel {
  const base = withoutTrailingSlash(publicUrl);
  return (latest) => {
    const coding = latest.assessment.method?.coding?.find((c) => c.code === latest.modelName);
    const display = coding?.display ?? latest.assessment.method?.text ?? latest.modelName;
    const served = models().find(
      (m) => m.manifest.name === latest.modelName && `${m.manifest.title} ${m.manifest.version}` === display,
    );
    if (!served) return { label: `fhir-fusion: ${display}` };
    return {
      label: `fhir-fusion: ${served.manifest.title} v${served.manifest.version}`,
      cardUrl: `${base}${modelCardPath(served.manifest.name, served.manifest.version)}`,
    };
  };
}
