// HTML made only through the `html` tag: every value put into a template is escaped
// unless it is itself the result of `html`. Domains, replies, addresses and config
// values come from mail and files that anyone may have written; none of them can add
// markup to the page, whichever part of it they land in (text or attribute).

const HTML_MARKUP = Symbol('html markup');

/** Markup made by `html`; the only thing a template takes as it is. */
export interface Markup {
  readonly [HTML_MARKUP]: string;
}

/** A value a template takes: text (escaped), markup, a list of them, or nothing (left out). */
export type Interpolated = string | number | Markup | readonly Interpolated[] | null | undefined | false;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

function isMarkup(value: unknown): value is Markup {
  return typeof value === 'object' && value !== null && HTML_MARKUP in value;
}

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (isMarkup(value)) return value[HTML_MARKUP];
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Markup {
  return { [HTML_MARKUP]: strings.reduce((out, text, index) => out + render(values[index - 1]) + text) };
}

/** The page as text, for the HTTP answer. */
export function markupText(markup: Markup): string {
  return markup[HTML_MARKUP];
}
