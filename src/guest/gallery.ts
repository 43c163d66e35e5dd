// The event's gallery (docs/storage.md, "The event gallery"): with event_gallery on, one page at
// `{prefix}{event_id}/index.html` lists every uploaded session of the event, newest first, by
// its preview, each linking to the session's page. Like the session's page it loads nothing but
// the storage's own objects, and asks search engines to keep out. It is built from the agent's
// own template, which escapes every value (template.ts).
import type { SessionKind } from '../core/media.js';
import { pageHead } from './built-in-page.js';
import { checkTemplate, templateProblem, type CheckedTemplate } from './template.js';

/** One session as the gallery shows it. */
export interface GalleryEntry {
  pageUrl: string;
  /** The preview's link; null when the session has none (a video without poster, a HEIC). */
  previewUrl: string | null;
  kind: SessionKind;
}

export interface GalleryFacts {
  eventName: string | null;
  entries: readonly GalleryEntry[];
}

const GALLERY = `${pageHead("img-src 'self'")}<style>
*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;padding:1rem;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#111;color:#f4f4f4}
h1{margin:.25rem 0 1rem;font-size:1.25rem;font-weight:600;text-align:center}
ul{list-style:none;margin:0 auto;padding:0;max-width:72rem;display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem}
a{display:flex;align-items:center;justify-content:center;aspect-ratio:1;border-radius:.5rem;overflow:hidden;background:#222;
color:#f4f4f4;text-decoration:none}
a:focus-visible{outline:3px solid #6cf;outline-offset:2px}
img{display:block;width:100%;height:100%;object-fit:cover}
p{text-align:center}
</style>
</head>
<body>
<h1>{{title}}</h1>
{{#if entries.length}}
<ul>
{{#each entries}}
<li><a href="{{pageUrl}}">{{#if previewUrl}}<img src="{{previewUrl}}" alt="{{label}}" loading="lazy">{{else}}{{label}}{{/if}}</a></li>
{{/each}}
</ul>
{{else}}
<p>No photos yet.</p>
{{/if}}
</body>
</html>
`;

const LABELS = { photo: 'Photo', gif: 'GIF', video: 'Video' } as const;

let compiled: Promise<CheckedTemplate> | null = null;

/** The event's gallery page. */
export async function renderGallery(facts: GalleryFacts): Promise<string> {
  compiled ??= checkTemplate(GALLERY);
  const checked = await compiled;
  if (!checked.ok) throw new Error(`the gallery template: ${templateProblem(checked)}`);
  return checked.render({
    title: facts.eventName ?? 'Photos',
    entries: facts.entries.map((entry) => ({ ...entry, label: LABELS[entry.kind] })),
  });
}
