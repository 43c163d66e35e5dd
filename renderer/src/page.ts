// What the cards share: the agent's state, which each card shows in its own way. The page
// follows /api/stream and hands every state to every card; an action asks for the state at
// once, so its outcome shows without waiting for the stream.
import { api, messageOf } from './api.js';
import type { PanelState } from './types.js';

/** One card of the panel (app.ts lists them): its section's markup is in index.html. */
export interface Card {
  /** Wires the card's controls, once, when the page opens. */
  setUp?(): void;
  /** Shows the agent's state: on each message of /api/stream, and after each action. */
  show?(state: PanelState): void;
}

const cards: Card[] = [];

/** Sets up these cards, which from now on show every state. */
export function openCards(list: readonly Card[]): void {
  cards.push(...list);
  for (const card of list) card.setUp?.();
}

export function showState(state: PanelState): void {
  for (const card of cards) card.show?.(state);
}

export async function refreshState(): Promise<void> {
  showState(await api<PanelState>('GET', '/api/state'));
}

/** Does an operator's action, says in an alert when it fails, and shows the state it left. */
export async function act(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    alert(messageOf(error));
  }
  await refreshState();
}
