// The route that answers a session's QR code, for the capture API (the booth's screen) and
// the admin API (the panel's delivery detail) alike: each with its own token, one answer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Refusal } from '../operations/context.js';
import type { QrCode } from '../operations/sessions.js';

type QrCodeRequest = FastifyRequest<{ Params: { session_id: string; token?: string } }>;

/**
 * The code as an image, never kept in a cache (after an erase no copy of it is left anywhere)
 * nor sniffed as anything else; a session with no link is a 404 that says why.
 */
export function qrCodeRoute(make: (sessionId: string) => Promise<QrCode>) {
  return async (request: QrCodeRequest, reply: FastifyReply) => {
    try {
      const code = await make(request.params.session_id);
      return reply.type(code.contentType).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(code.body);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return reply.code(404).send({ error: error.message });
    }
  };
}
