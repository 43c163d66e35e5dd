// A form's refusals, each next to its field: the admin API names the field in each issue's
// path, and the form says where each field's message goes.
import { ApiError, messageOf, type Issue } from './api.js';

/** Where a refusal of each field the admin API may name goes: the control to mark, and the message's place. */
export type Fields = Record<string, readonly [HTMLElement | null, HTMLElement]>;

export function clearIssues(fields: Fields): void {
  for (const [input, message] of Object.values(fields)) {
    input?.removeAttribute('aria-invalid');
    message.textContent = '';
  }
}

/**
 * Puts each refusal next to its field (the API names the field in each issue's path): the
 * field of the whole path when the form has one (a header, `headers.X-Signature`), else
 * that of its first part.
 */
export function showIssues(error: unknown, fields: Fields): void {
  const issues: Issue[] =
    error instanceof ApiError && error.issues.length > 0 ? error.issues : [{ path: Object.keys(fields)[0]!, message: messageOf(error) }];
  // Several issues can share a place (two headers refused): each is said, one after the other.
  const said = new Set<HTMLElement>();
  for (const issue of issues) {
    const target = fields[issue.path] ?? fields[issue.path.split('.')[0]!] ?? Object.values(fields)[0]!;
    const [input, message] = target;
    input?.setAttribute('aria-invalid', 'true');
    const sentence = issue.message.charAt(0).toUpperCase() + issue.message.slice(1);
    message.textContent = said.has(message) ? `${message.textContent}; ${issue.message}` : sentence;
    said.add(message);
  }
}
