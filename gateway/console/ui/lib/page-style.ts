/**
 * Adds a page's own CSS to the document once (the bundle's stylesheet is the shell's). A
 * constructed stylesheet, not a `<style>` element: the console's Content-Security-Policy
 * (`style-src 'self'`) blocks inline style elements.
 */
const added = new Set<string>();

export function addStyle(id: string, css: string): void {
  if (added.has(id) || typeof document === 'undefined') return;
  added.add(id);
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
