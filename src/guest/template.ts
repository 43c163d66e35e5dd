// The guest's page template (docs/storage.md, "Your own page"): Handlebars, which escapes every
// value by default. A template is checked whole before it is used: it must parse, name only
// Handlebars' own helpers, and never ask for a value raw (`{{{x}}}`, `{{& x}}`), nor a partial,
// which would let markup through; so a session id, an event name or any other value holding
// `<script>` ends up as text. Handlebars is loaded only when a page is made or a template set.
import type { TemplateDelegate } from 'handlebars';

/** A template checked and compiled, or why it cannot be used, with the line it is on. */
export type CheckedTemplate = { ok: true; render: (context: object) => string } | { ok: false; line: number | null; reason: string };

type Handlebars = typeof import('handlebars');
type Node = { type: string; escaped?: boolean; loc?: { start: { line: number } } | null; [key: string]: unknown };

let loaded: Promise<Handlebars> | null = null;

function handlebars(): Promise<Handlebars> {
  loaded ??= import('handlebars').then((module) => (module as { default?: Handlebars }).default ?? module);
  return loaded;
}

/** Parses, checks and compiles a template's text. */
export async function checkTemplate(text: string): Promise<CheckedTemplate> {
  const hb = await handlebars();
  let program: Node;
  try {
    program = hb.parse(text) as unknown as Node;
  } catch (error) {
    return problem(error);
  }
  const unsafe = findUnsafe(program);
  if (unsafe) return { ok: false, line: unsafe.loc?.start.line ?? null, reason: unsafeReason(unsafe) };
  let compiled: TemplateDelegate;
  try {
    // Compiled now, not at the first render, so an unknown helper is found when the template is set.
    compiled = hb.compile(text, { knownHelpersOnly: true, strict: false });
    compiled({});
  } catch (error) {
    return problem(error);
  }
  return { ok: true, render: (context) => compiled(context) };
}

/** "line 3: …": how the operator reads a refusal. */
export function templateProblem(checked: Extract<CheckedTemplate, { ok: false }>): string {
  return checked.line === null ? checked.reason : `line ${checked.line}: ${checked.reason}`;
}

/** The first statement that would put a value in the page unescaped, or bring in a partial. */
function findUnsafe(node: Node): Node | null {
  if (node.type === 'MustacheStatement' && node.escaped === false) return node;
  if (/Partial|Decorator/.test(node.type)) return node;
  for (const value of Object.values(node)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      if (child === null || typeof child !== 'object' || typeof (child as Node).type !== 'string') continue;
      const found = findUnsafe(child as Node);
      if (found) return found;
    }
  }
  return null;
}

function unsafeReason(node: Node): string {
  if (node.type === 'MustacheStatement') return 'a value is written unescaped ({{{…}}} or {{& …}}); use {{…}}, which escapes it';
  if (/Partial/.test(node.type)) return 'partials ({{> …}}) are not available: put everything in the one file';
  return 'decorators are not available';
}

/** Handlebars' parse and compile errors, as a line and a reason in one sentence. */
function problem(error: unknown): Extract<CheckedTemplate, { ok: false }> {
  const message = error instanceof Error ? error.message : String(error);
  const { lineNumber } = error as { lineNumber?: number };
  const parsed = /^Parse error on line (\d+):\n[^\n]*\n[^\n]*\n(.*)$/s.exec(message);
  if (parsed) return { ok: false, line: Number(parsed[1]), reason: parsed[2]!.replace(/\s+/g, ' ').trim() };
  // "if doesn't match each - 2:3": the position is given as line:column at the end.
  const at = / - (\d+):\d+$/.exec(message);
  const line = typeof lineNumber === 'number' ? lineNumber : at ? Number(at[1]) : null;
  return { ok: false, line, reason: message.replace(/ - \d+:\d+$/, '') };
}
