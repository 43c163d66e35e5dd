// The shape of the body an endpoint receives (docs/webhooks.md, "Formats"). The outbox
// keeps the contract's bytes; an endpoint can ask for them as they are (`snappic`), as one
// level of keys for spreadsheets and no-code tools (`flat`), or as a one-line message for
// a chat tool's incoming webhook (`chat`).

export const PAYLOAD_FORMATS = ['snappic', 'flat', 'chat'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];
