/**
 * The question being answered, pinned to the answer box while its place in the transcript is
 * out of sight (scrolled away, or under the keyboard on a phone). It can be folded to one line,
 * and shown again.
 */
import { useEffect, useId, useLayoutEffect, useRef } from 'react';

export function QuestionPin({
  label,
  text,
  collapsed,
  onCollapse,
  onExpand,
}: {
  label: string;
  text: string;
  collapsed: boolean;
  onCollapse: () => void;
  onExpand: () => void;
}) {
  const body = useRef<HTMLParagraphElement>(null);
  const bodyId = useId();
  // A long question (a greeting, then the question) shows its end, the part to answer, and keeps
  // showing it as the box changes size, until the candidate scrolls it themselves.
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    atEnd.current = true;
    const el = body.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [collapsed, text]);
  useEffect(() => {
    const el = body.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (atEnd.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [collapsed]);
  if (collapsed) {
    return (
      <div className="question-pin question-pin--collapsed" data-testid="question-pin">
        <span className="question-pin__label">{label}</span>
        <button type="button" className="link-button small" onClick={onExpand} aria-controls={bodyId} aria-expanded="false" data-testid="show-question">
          Show the question again
        </button>
      </div>
    );
  }
  return (
    <div className="question-pin" data-testid="question-pin">
      <div className="question-pin__head">
        <span className="question-pin__label">{label}</span>
        <button type="button" className="link-button small" onClick={onCollapse} aria-controls={bodyId} aria-expanded="true">
          Hide<span className="visually-hidden"> the question</span>
        </button>
      </div>
      <p
        ref={body}
        id={bodyId}
        className="question-pin__text"
        data-testid="question-pin-text"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atEnd.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
        }}
      >
        {text}
      </p>
    </div>
  );
}
