// The Refusal an operation throws, for a test to look at; anything else it throws, or none, fails the test.
import { Refusal } from '../../src/operations/context.js';

export function refusal(work: () => unknown): Refusal {
  try {
    work();
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
