// The page's one question before an action that cannot be undone, in its own dialog.
import { byId } from './dom.js';

/** Asks the operator in the #confirm dialog; Cancel or Escape is a no. */
export function confirmed(question: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-text').textContent = question;
  dialog.showModal();
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      byId('confirm-yes').onclick = null;
      byId('confirm-no').onclick = null;
      dialog.close();
      resolve(answer);
    };
    byId('confirm-yes').onclick = () => done(true);
    byId('confirm-no').onclick = () => done(false);
    dialog.oncancel = () => done(false);
  });
}
