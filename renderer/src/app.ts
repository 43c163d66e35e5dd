// The operator's panel. Everything it shows comes from the admin API; the header and the
// lists follow /api/stream, so they change by themselves within a moment of a change.
// Each card of the page is a module of cards/; a new one is its section in index.html, its
// module, and a line in CARDS.
import { adminToken, follow } from './api.js';
import { booth } from './cards/booth.js';
import { day } from './cards/day.js';
import { deliveries } from './cards/deliveries.js';
import { deliveryDetail } from './cards/delivery-detail.js';
import { endpoints } from './cards/endpoints.js';
import { guest } from './cards/guest.js';
import { header } from './cards/header.js';
import { storage } from './cards/storage.js';
import { uploads } from './cards/uploads.js';
import { byId } from './dom.js';
import { openCards, showState, type Card } from './page.js';
import type { PanelState } from './types.js';

/** The cards, in the order they are set up and shown each state. */
const CARDS: readonly Card[] = [header, day, endpoints, booth, storage, uploads, guest, deliveries, deliveryDetail];

function start(): void {
  if (!adminToken()) {
    byId('headline').textContent = 'Open the panel with its link: run "booth-agent panel-url" on the booth';
    return;
  }
  openCards(CARDS);
  follow<PanelState>(showState, (connected) => {
    if (!connected) {
      const title = byId('headline');
      title.textContent = 'The agent is not answering: is it running?';
      title.dataset.tone = 'bad';
    }
  });
}

start();
