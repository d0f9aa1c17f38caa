import { describe, expect, it } from 'vitest';
import { keyboardInset } from './useKeyboardInset';
import { fullyWithin } from './useQuestionInView';

describe('the on-screen keyboard', () => {
  it('is how much of the layout viewport the visual viewport leaves out at the bottom', () => {
    expect(keyboardInset(844, { height: 500, offsetTop: 0 })).toBe(344);
    // Safari scrolls the visual viewport as well.
    expect(keyboardInset(844, { height: 500, offsetTop: 100 })).toBe(244);
  });

  it('is not the toolbars moving, nor a pinch-zoom', () => {
    expect(keyboardInset(844, { height: 790, offsetTop: 0 })).toBe(0);
    expect(keyboardInset(844, { height: 400, offsetTop: 0, scale: 2 })).toBe(0);
    expect(keyboardInset(844, null)).toBe(0);
  });
});

describe('the question in view', () => {
  it('is in view when it lies wholly between the room bar and the answer box', () => {
    expect(fullyWithin({ top: 100, bottom: 300 }, 80, 400)).toBe(true);
    expect(fullyWithin({ top: 60, bottom: 300 }, 80, 400)).toBe(false); // under the room bar
    expect(fullyWithin({ top: 100, bottom: 450 }, 80, 400)).toBe(false); // under the answer box
    expect(fullyWithin({ top: 79, bottom: 401 }, 80, 400)).toBe(true); // rounding
    expect(fullyWithin({ top: 0, bottom: 0 }, 0, 400)).toBe(false); // not laid out
  });
});
