/**
 * The on-screen keyboard, as `window.visualViewport` reveals it: how much of the layout viewport's
 * bottom it covers. Browsers that shrink only the visual viewport when the keyboard opens (iOS
 * Safari, Chrome on Android by default) leave `position: sticky; bottom: 0` behind the keyboard;
 * the room lifts its answer box by this much instead.
 */
import { useEffect, useState } from 'react';

/** Below this, a difference is the browser's toolbars moving, not a keyboard. */
export const KEYBOARD_MIN_PX = 120;

export function keyboardInset(
  layoutHeight: number,
  viewport: { height: number; offsetTop: number; scale?: number } | null | undefined,
): number {
  // Zoomed in, the visual viewport is smaller for another reason.
  if (!viewport || (viewport.scale ?? 1) > 1.05) return 0;
  const covered = Math.round(layoutHeight - viewport.height - viewport.offsetTop);
  return covered >= KEYBOARD_MIN_PX ? covered : 0;
}

export function useKeyboardInset(): number {
  const [inset, setInset] = useState(0);
  useEffect(() => {
    const viewport = window.visualViewport;
    if (!viewport) return;
    const update = () => setInset(keyboardInset(window.innerHeight, viewport));
    update();
    viewport.addEventListener('resize', update);
    viewport.addEventListener('scroll', update);
    return () => {
      viewport.removeEventListener('resize', update);
      viewport.removeEventListener('scroll', update);
    };
  }, []);
  return inset;
}
