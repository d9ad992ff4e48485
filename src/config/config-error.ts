/** One invalid, missing or conflicting setting. */
export interface ConfigIssue {
  /** The setting (or `<KEY>_FILE`, or `FHIR_FUSION_CONFIG_FILE`) at fault. */
  key: string;
  /** What a valid value looks like, or the rule that was broken. */
  expected: string;
  /** What was found; for secret settings never the value itself. */
  found: string;
  /** Where the value came from: `environment`, `file <path>`, `<KEY>_FILE <path>`, or `default`. */
  source?: string;
}

/**
 * Thrown by `loadConfig` when any setting is bad. The message lists every issue, one per line, so an
 * operator fixes them all in one go; `issues` carries the same list for programs.
 */
export class ConfigError extends Error {
  /** Every problem found, in schema order, then cross-field rules. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(
      (issue) =>
        `  - ${issue.key}: expected ${issue.expected}; found ${issue.found}${issue.source ? ` (from ${issue.source})` : ''}`,
    );
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid configuration (${count}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
