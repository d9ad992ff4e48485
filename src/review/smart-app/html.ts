/** Escapes text for HTML element content and double-quoted attribute values (HTML §13.1.2.6). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The page shell shared by the review page and error pages: local CSS only, no external resources. */
export function pageShell(input: { title: string; body: string; assetsPrefix: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(input.title)}</title>
<link rel="stylesheet" href="${escapeHtml(input.assetsPrefix)}/review.css">
</head>
<body>
${input.body}
</body>
</html>`;
}
