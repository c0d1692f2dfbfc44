/**
 * A tiny, escaping HTML template helper: every interpolated value is escaped
 * unless it is already `SafeHtml` (the output of another `html` template), so
 * data from a bundle can never become markup.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | ReadonlyArray<Interpolated>;

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/** Tagged template: `html\`<td>${text}</td>\`` escapes `text`; nested templates and arrays of them pass through. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup that is trusted as it is (constant strings of the templates only). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A value for a CSS string literal (`content: "..."`): only a safe character set survives. */
export function cssString(value: string): string {
  return `"${value.replace(/[^A-Za-z0-9 .,:;_/()#+\u00b7-]/g, '')}"`;
}
