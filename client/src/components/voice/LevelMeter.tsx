import { useEffect, useRef } from 'react';
import { meterFraction } from '../../voice/pcm';

/** A level as loud as a voice: the meter turns to its "hearing you" colour. */
const VOICE_DB = -45;

/**
 * A live microphone level. It redraws from the level stream directly (about 50 updates a second),
 * not through React state. `data-level` carries the last level in dBFS, for tests.
 */
export function LevelMeter({
  subscribe,
  label = 'Microphone level',
  size = 'md',
}: {
  subscribe: (listener: (db: number) => void) => () => void;
  label?: string;
  size?: 'md' | 'lg';
}) {
  const meter = useRef<HTMLDivElement>(null);
  const fill = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    let frame = 0;
    let latest = -100;
    let peak = -100;
    const draw = () => {
      frame = 0;
      const el = meter.current;
      const bar = fill.current;
      if (!el || !bar) return;
      bar.style.transform = `scaleX(${Math.max(0.02, meterFraction(peak))})`;
      el.dataset.level = String(Math.round(latest));
      el.dataset.voice = String(peak >= VOICE_DB);
      peak = -100;
    };
    const unsubscribe = subscribe((db) => {
      latest = db;
      peak = Math.max(peak, db);
      if (!frame) frame = requestAnimationFrame(draw);
    });
    return () => {
      unsubscribe();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [subscribe]);
  return (
    <div ref={meter} className={`level-meter level-meter--${size}`} role="img" aria-label={label} data-testid="level-meter" data-level="-100" data-voice="false">
      <span ref={fill} className="level-meter__fill" />
    </div>
  );
}
