import type { TextSpec } from '../preprocess/text/tokenize-report.js';

/**
 * How ECG interpretation reports (DiagnosticReport.category `EC`, HL7 v2 table 0074) are
 * tokenised for the ECG ↔ report model. Shared by the training export and the server so the two
 * cannot drift apart.
 */
export const ECG_REPORT_TEXT_SPEC: TextSpec = {
  lookbackHours: 720,
  categories: ['EC'],
  tokenizer: 'vocabulary.json',
  maxTokens: 64,
  lowercase: true,
  negationPrefix: 'NEG_',
};
