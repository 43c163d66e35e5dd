// The guest's page of one session (docs/storage.md, "The guest's page"): the values a template
// is given, and the page rendered from the agent's template or the operator's. A template is
// checked and compiled once per text; an operator's that cannot be read or used is a refusal
// the upload lane fails the upload with, since no retry will change it until the file is fixed.
import { readFile } from 'node:fs/promises';
import { sessionKind, type SessionKind } from '../core/media.js';
import { BUILT_IN_PAGE } from './built-in-page.js';
import { checkTemplate, templateProblem, type CheckedTemplate } from './template.js';

/** What the page shows, as the upload lane knows it. */
export interface PageFacts {
  sessionId: string;
  /** The media file's content type, which says what kind of session it is. */
  contentType: string;
  mediaUrl: string;
  pageUrl: string;
  /** The link-card image; null when there is none. */
  preview: { url: string; width: number; height: number } | null;
  eventName: string | null;
}

/** The values a page template is given (docs/storage.md, "Your own page"): all of them escaped where they are written. */
export interface PageContext {
  title: string;
  eventName: string | null;
  kind: SessionKind;
  isPhoto: boolean;
  isGif: boolean;
  isVideo: boolean;
  mediaUrl: string;
  mediaType: string;
  /** The name the Download button saves the file under: the kind and the extension, nothing of the guest. */
  downloadName: string;
  pageUrl: string;
  preview: { url: string; width: number; height: number; type: 'image/jpeg' } | null;
  sessionId: string;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/heic': '.heic',
  'video/mp4': '.mp4',
  'video/quicktime': '.mov',
};

export function pageContext(facts: PageFacts): PageContext {
  const kind = sessionKind(facts.contentType);
  const title = facts.eventName ?? { photo: 'Your photo', gif: 'Your GIF', video: 'Your video' }[kind];
  return {
    title,
    eventName: facts.eventName,
    kind,
    isPhoto: kind === 'photo',
    isGif: kind === 'gif',
    isVideo: kind === 'video',
    mediaUrl: facts.mediaUrl,
    mediaType: facts.contentType,
    downloadName: `${kind}${EXTENSIONS[facts.contentType] ?? ''}`,
    pageUrl: facts.pageUrl,
    preview: facts.preview && { ...facts.preview, type: 'image/jpeg' },
    sessionId: facts.sessionId,
  };
}

export type RenderedPage = { ok: true; html: string } | { ok: false; reason: string };

/** The last template compiled, by its text: a booth renders every page with the same one. */
let compiled: { text: string; checked: Promise<CheckedTemplate> } | null = null;

function compile(text: string): Promise<CheckedTemplate> {
  if (compiled?.text !== text) compiled = { text, checked: checkTemplate(text) };
  return compiled.checked;
}

/** The template at `path` (null: the agent's own), checked; or why it cannot be used, for the operator. */
async function loadTemplate(
  path: string | null,
): Promise<{ ok: true; render: (context: object) => string } | { ok: false; reason: string }> {
  let text = BUILT_IN_PAGE;
  if (path !== null) {
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      return { ok: false, reason: `cannot be read (${(error as { code?: string }).code ?? String(error)})` };
    }
  }
  const checked = await compile(text);
  return checked.ok ? checked : { ok: false, reason: templateProblem(checked) };
}

/** Whether the file at `path` can be the page template (guest_page_template): null, or why not. */
export async function templateFileProblem(path: string): Promise<string | null> {
  const loaded = await loadTemplate(path);
  return loaded.ok ? null : loaded.reason;
}

/** A session's page, from the operator's template (its path) or, when null, the agent's own. */
export async function renderPage(templatePath: string | null, facts: PageFacts): Promise<RenderedPage> {
  const loaded = await loadTemplate(templatePath);
  if (!loaded.ok) return { ok: false, reason: `the page template ${templatePath}: ${loaded.reason}` };
  try {
    return { ok: true, html: loaded.render(pageContext(facts)) };
  } catch (error) {
    return {
      ok: false,
      reason: `the page template${templatePath === null ? '' : ` ${templatePath}`} failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
