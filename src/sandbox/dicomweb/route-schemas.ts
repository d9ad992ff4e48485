/**
 * JSON schemas for DICOMweb path parameters. UIDs are at most 64 characters of digits and dots
 * (DICOM PS3.5 §9.1); frame lists are comma-separated numbers (PS3.18 §8.3.3.1) and are checked
 * by the frames route itself so it can say which frame is wrong.
 */
const UID = { type: 'string', pattern: '^[0-9.]{1,64}$' } as const;

/** Params of routes scoped to a study, series and/or instance. */
export const uidParamsSchema = {
  type: 'object',
  properties: {
    study: UID,
    series: UID,
    instance: UID,
    frames: { type: 'string', maxLength: 4096 },
    tag: { type: 'string', pattern: '^[0-9A-Fa-f]{8}$' },
  },
} as const;
