import { escapeHtml } from '../../http/escape-html.js';

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
