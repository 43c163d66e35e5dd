// A session's link, and its QR code: what the booth's screen shows the guest the moment the
// photo is taken (the capture API), and the operator in a delivery's detail (the admin API).
// The link is known at capture, so the code works before the upload, online or not.
import type { QRCodeToBufferOptions } from 'qrcode';
import { Refusal, type OperationContext } from './context.js';

export const QR_FORMATS = { svg: 'image/svg+xml', png: 'image/png' } as const;
export type QrFormat = keyof typeof QR_FORMATS;

export interface QrCode {
  contentType: string;
  body: string | Buffer;
}

/**
 * 512 px across, a size a phone reads from an arm's length off a booth's screen, which scales
 * the SVG as it likes; the quiet zone the standard asks for, 4 modules, without which phones
 * miss a code shown on a busy screen; error correction M, the usual for a code on a screen.
 */
const QR_OPTIONS = { width: 512, margin: 4, errorCorrectionLevel: 'M' } as const;
/**
 * The PNG's rows filtered as "up" alone (pngjs's filterType 2, which the types leave out): a
 * code's rows repeat module after module, and trying all five filters on every row, the
 * default, held the event loop three times as long (about 45 ms against 15 for a code).
 * A fresh object for each code: the renderer writes the image's size into it.
 */
const pngOptions = (): QRCodeToBufferOptions => ({
  ...QR_OPTIONS,
  type: 'png',
  rendererOpts: { filterType: 2 } as QRCodeToBufferOptions['rendererOpts'],
});

/** Loaded with the first code asked for, never at start-up. */
let qrcode: Promise<typeof import('qrcode')> | undefined;
const loadQrCode = () => (qrcode ??= import('qrcode'));

/** The session's `site_url`; refused (`not-found`) for a session never captured, or whose data was erased. */
function sessionLink(ctx: Pick<OperationContext, 'store'>, sessionId: string): string {
  const link = ctx.store.views.sessionLink(sessionId);
  if (link === null) throw new Refusal('not-found', 'there is no session with this id: none was captured on this booth, or it was erased');
  if (link.siteUrl === null) throw new Refusal('not-found', "this session's data was erased: it has no link any more");
  return link.siteUrl;
}

/** The QR code of the session's `site_url`, as an SVG or a PNG image. */
export async function sessionQrCode(ctx: Pick<OperationContext, 'store'>, sessionId: string, format: QrFormat): Promise<QrCode> {
  const link = sessionLink(ctx, sessionId);
  const { toBuffer, toString } = await loadQrCode();
  const body = format === 'svg' ? await toString(link, { ...QR_OPTIONS, type: 'svg' }) : await toBuffer(link, pngOptions());
  return { contentType: QR_FORMATS[format], body };
}
