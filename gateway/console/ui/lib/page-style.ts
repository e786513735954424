/** Adds a page's own CSS to the document once (the bundle's stylesheet is the shell's). */
const added = new Set<string>();

export function addStyle(id: string, css: string): void {
  if (added.has(id) || typeof document === 'undefined') return;
  added.add(id);
  const el = document.createElement('style');
  el.dataset.style = id;
  el.textContent = css;
  document.head.append(el);
}
