// The html tag: values are escaped wherever they land, markup made by the tag is not.
import t from 'tap';
import { escapeHtml, html, markupText } from '../../../src/admin/dashboard/html.js';

t.test('escapeHtml replaces the five characters that can end text or an attribute', async (t) => {
  t.equal(escapeHtml(`<script>alert("x" & 'y')</script>`), '&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;');
  t.equal(escapeHtml('mx.partner.test 250 2.0.0 Ok'), 'mx.partner.test 250 2.0.0 Ok', 'ordinary text is left as it is');
});

t.test('values in a template are escaped, in text and in attributes', async (t) => {
  const domain = '<img src=x onerror=alert(1)>.test';
  t.equal(markupText(html`<td title="${'" onmouseover="x'}">${domain}</td>`), '<td title="&quot; onmouseover=&quot;x">&lt;img src=x onerror=alert(1)&gt;.test</td>');
});

t.test('markup made by the tag goes in as it is, lists are joined, nothing is left out', async (t) => {
  const cells = ['a<b', 'c'].map((text) => html`<td>${text}</td>`);
  t.equal(markupText(html`<tr>${cells}</tr>`), '<tr><td>a&lt;b</td><td>c</td></tr>');
  t.equal(markupText(html`[${null}${undefined}${false}${0}${7}]`), '[07]', 'null, undefined and false are left out; numbers are text');
  t.equal(markupText(html`${[['<', html`<br>`]]}`), '&lt;<br>', 'nested lists');
});

t.test('an object that only looks like markup is text', async (t) => {
  const forged = { toString: () => '<script>' } as unknown as string;
  t.equal(markupText(html`${forged}`), '&lt;script&gt;');
});
