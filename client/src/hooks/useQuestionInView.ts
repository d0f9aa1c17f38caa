/**
 * Whether the question being answered can be read where it is in the transcript: not scrolled
 * away, and not under the room's sticky bars (the room bar above, the answer box below). When it
 * cannot, the room pins a copy of it to the answer box.
 */
import { useEffect, useState } from 'react';

/** True when the box from `top` to `bottom` lies within the band between `bandTop` and `bandBottom`. */
export function fullyWithin(box: { top: number; bottom: number }, bandTop: number, bandBottom: number): boolean {
  // A pixel or two either way is rounding, not a hidden line.
  return box.bottom > box.top && box.top >= bandTop - 2 && box.bottom <= bandBottom + 2;
}

/**
 * Watches the element `target()` returns (re-read on every check) against the band left between
 * `above()` and `below()` (the sticky bars; null: the window's edges). `key` changes (the
 * question's text) trigger a check too. True until measured: no pin before the first layout.
 */
export function useQuestionInView(
  target: () => Element | null,
  above: () => Element | null,
  below: () => Element | null,
  key: unknown,
): boolean {
  const [inView, setInView] = useState(true);
  useEffect(() => {
    let frame = 0;
    const check = () => {
      frame = 0;
      const el = target();
      if (!el) {
        setInView(true);
        return;
      }
      const box = el.getBoundingClientRect();
      const viewport = window.visualViewport;
      const top = Math.max(above()?.getBoundingClientRect().bottom ?? 0, viewport ? viewport.offsetTop : 0);
      const viewBottom = viewport ? viewport.offsetTop + viewport.height : window.innerHeight;
      const bottom = Math.min(below()?.getBoundingClientRect().top ?? viewBottom, viewBottom);
      setInView(fullyWithin(box, top, bottom));
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(check);
    };
    check();
    window.addEventListener('scroll', schedule, { passive: true });
    window.addEventListener('resize', schedule);
    window.visualViewport?.addEventListener('resize', schedule);
    window.visualViewport?.addEventListener('scroll', schedule);
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(schedule);
    for (const el of [target(), below(), above()]) if (el) observer?.observe(el);
    return () => {
      if (frame) cancelAnimationFrame(frame);
      window.removeEventListener('scroll', schedule);
      window.removeEventListener('resize', schedule);
      window.visualViewport?.removeEventListener('resize', schedule);
      window.visualViewport?.removeEventListener('scroll', schedule);
      observer?.disconnect();
    };
    // The getters read the DOM at each check; `key` says when the question itself changed.
  }, [key]);
  return inView;
}
