// The agent's own guest page: one small file, mobile first, that shows the photo, GIF or video
// with a Download button and the event's name, and nothing of the guest. Everything it needs is
// inline or in the same storage (its policy allows nothing else), so it loads with no other
// host, no script, no font and no tracker; its icon is empty, so a browser does not ask the
// bucket for a /favicon.ico it would refuse. The values it is given are in page.ts (PageContext).
/**
 * The start of the agent's pages (this one and the event gallery, gallery.ts), up to their
 * title's card tags: `sources` are what their Content-Security-Policy lets them load besides
 * inline styles.
 */
export function pageHead(sources: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; ${sources}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{{title}}</title>
<meta property="og:type" content="website">
<meta property="og:title" content="{{title}}">
`;
}

export const BUILT_IN_PAGE = `${pageHead("img-src 'self' data:; media-src 'self'")}<meta property="og:url" content="{{pageUrl}}">
{{#if preview}}
<meta property="og:image" content="{{preview.url}}">
<meta property="og:image:type" content="image/jpeg">
<meta property="og:image:width" content="{{preview.width}}">
<meta property="og:image:height" content="{{preview.height}}">
<meta property="og:image:alt" content="{{title}}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:image" content="{{preview.url}}">
{{else}}
<meta name="twitter:card" content="summary">
{{/if}}
{{#if isVideo}}
<meta property="og:video" content="{{mediaUrl}}">
<meta property="og:video:type" content="{{mediaType}}">
{{/if}}
<meta name="twitter:title" content="{{title}}">
<style>
*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;gap:1rem;padding:1rem;
font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#111;color:#f4f4f4}
h1{margin:.25rem 0 0;font-size:1.25rem;font-weight:600;text-align:center}
main{width:100%;max-width:48rem;display:flex;flex-direction:column;align-items:center;gap:1rem}
img,video{display:block;width:100%;height:auto;max-height:80vh;object-fit:contain;border-radius:.5rem;background:#000}
a.download{display:block;width:100%;max-width:20rem;padding:.9rem 1rem;border-radius:.5rem;background:#f4f4f4;color:#111;
font-weight:600;text-align:center;text-decoration:none}
a.download:focus-visible{outline:3px solid #6cf;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>{{title}}</h1>
{{#if isVideo}}
<video src="{{mediaUrl}}" controls playsinline preload="metadata"{{#if preview}} poster="{{preview.url}}"{{/if}}></video>
{{else}}
<img src="{{mediaUrl}}" alt="{{title}}"{{#if preview}} width="{{preview.width}}" height="{{preview.height}}"{{/if}}>
{{/if}}
<a class="download" href="{{mediaUrl}}" download="{{downloadName}}">Download</a>
</main>
</body>
</html>
`;
