// The guest's page template is checked whole before use: what does not parse, what would write
// a value unescaped, and what names a helper or partial that is not there are refused with the
// line and the reason; what passes escapes every value.
import { describe, expect, it } from 'vitest';
import { checkTemplate, templateProblem } from '../../src/guest/template.js';

async function refusal(text: string): Promise<string> {
  const checked = await checkTemplate(text);
  if (checked.ok) throw new Error(`${JSON.stringify(text)} was taken`);
  return templateProblem(checked);
}

describe('checkTemplate', () => {
  it.each([
    ['a block closed by another', '<p>\n{{#if a}}\n{{/each}}', /^line 2: if doesn't match each$/],
    ['a mustache left open', 'a\n\n{{x', /^line 3: Expecting 'ID'.*got 'INVALID'$/],
    ['a triple-stash', '<p>\n{{{x}}}</p>', /^line 2: a value is written unescaped/],
    ['an ampersand', 'x\n\n\n<p>{{& x}}</p>', /^line 4: a value is written unescaped/],
    [
      'a triple-stash inside a block',
      '{{#each items}}\n{{#if this}}\n  {{{this}}}{{/if}}{{/each}}',
      /^line 3: a value is written unescaped/,
    ],
    ['a partial', '\n{{> footer}}', /^line 2: partials/],
    ['an unknown helper', '<p>{{shout title}}</p>', /^line 1: You specified knownHelpersOnly, but used the unknown helper shout$/],
  ])('refuses %s, naming the line', async (_what, text, expected) => {
    expect(await refusal(text)).toMatch(expected);
  });

  it('takes Handlebars’ own helpers, and escapes every value', async () => {
    const checked = await checkTemplate('<h1 title="{{title}}">{{title}}</h1>{{#if items}}{{#each items}}<i>{{this}}</i>{{/each}}{{/if}}');
    if (!checked.ok) throw new Error(templateProblem(checked));
    expect(checked.render({ title: '"><script>alert(1)</script>', items: ["<img src=x onerror='x'>"] })).toBe(
      '<h1 title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>' +
        '<i>&lt;img src&#x3D;x onerror&#x3D;&#x27;x&#x27;&gt;</i>',
    );
  });

  it('reads nothing from a value’s prototype', async () => {
    const checked = await checkTemplate('[{{title.constructor}}][{{title.__proto__}}][{{lookup title "constructor"}}]');
    if (!checked.ok) throw new Error(templateProblem(checked));
    expect(checked.render({ title: 'x' })).toBe('[][][]');
  });
});
