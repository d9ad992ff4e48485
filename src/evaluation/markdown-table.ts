/**
 * The Markdown pieces the model-card sections share: a header row with its `---` separator, a
 * body row, and a figure rounded to three decimals ("—" where there is none). One place, so the
 * performance and statistics sections of `card.md` render their tables the same way.
 */

/** A figure to three decimals, or "—" when it was not measured (`null`) or not reported (`undefined`). */
export function fixed3(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : x.toFixed(3);
}

/** One Markdown table row: `| a | b | c |`. */
export function tableRow(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A Markdown table's header row and its separator row (`| --- | … |`), one `---` per column. */
export function tableHeader(columns: readonly string[]): string[] {
  return [tableRow(columns), tableRow(columns.map(() => '---'))];
}
