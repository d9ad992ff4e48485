/**
 * The Bulk Data export's completion manifest (FHIR Bulk Data Access 2.0 §"Response - Complete
 * Status"): a contract (#22) because the backfill's client reads it and the store persists it.
 */

/** One output file listed in a Bulk Data completion manifest. */
export interface ExportOutputFile {
  type: string;
  url: string;
  count?: number;
}

/** The completion manifest (Bulk Data Access 2.0 §Response - Complete Status). */
export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ExportOutputFile[];
  error: ExportOutputFile[];
}
