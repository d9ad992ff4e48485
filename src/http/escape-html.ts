/**
 * Escapes text for HTML element content and quoted attribute values (HTML §13.1.2.6, §13.1.2.3):
 * the five characters that could end a text run or an attribute value become named character
 * references. `undefined` and `null` render as the empty string; anything else as `String(value)`.
 * The one escaper of the server's pages, the SMART review app, and the sandbox's consent page.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
