/**
 * Create or edit one question of the bank: its text, track, level, topics, what a strong answer
 * covers (3-5 points, each with the keywords that detect it) and the follow-up. The server runs
 * the bank's own rules; what it refuses is shown above the buttons.
 */
import { useId, useState, type FormEvent } from 'react';
import type { Question, QuestionCreate, QuestionUpdate } from '../../api/admin';
import type { Level, Track } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { LEVELS, TRACKS } from '../../lib/format';
import { Alert } from '../ui';

// The bank's rule (server/llm/offline/bank.py): a question lists 3 to 5 points.
export const MIN_POINTS = 3;
export const MAX_POINTS = 5;

interface PointDraft {
  point: string;
  keywords: string;
}

export interface QuestionDraft {
  id: string;
  track: Track;
  level: Level;
  topics: string;
  text: string;
  followUp: string;
  points: PointDraft[];
}

export function emptyDraft(track: Track = 'backend', level: Level = 'mid'): QuestionDraft {
  return {
    id: '',
    track,
    level,
    topics: '',
    text: '',
    followUp: '',
    points: Array.from({ length: MIN_POINTS }, () => ({ point: '', keywords: '' })),
  };
}

export function draftOf(q: Question): QuestionDraft {
  return {
    id: q.id,
    track: q.track,
    level: q.level,
    topics: q.topics.join(', '),
    text: q.text,
    followUp: q.follow_up,
    points: q.points.map((p) => ({ point: p.point, keywords: p.keywords.join(', ') })),
  };
}

/** "a, b ,, c" → ["a", "b", "c"] */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

export function bodyOf(draft: QuestionDraft): QuestionCreate {
  return {
    ...(draft.id.trim() ? { id: draft.id.trim() } : {}),
    track: draft.track,
    level: draft.level,
    topics: splitList(draft.topics),
    text: draft.text.trim(),
    follow_up: draft.followUp.trim(),
    points: draft.points.map((p) => ({ point: p.point.trim(), keywords: splitList(p.keywords) })),
  };
}

export function QuestionForm({
  editing,
  initial,
  onSave,
  onCancel,
}: {
  /** The question being edited (null: a new one). */
  editing: Question | null;
  initial: QuestionDraft;
  /** Saves it: a new question, or an edit of `editing` (with the version it was made from). */
  onSave: (body: QuestionCreate | QuestionUpdate) => Promise<unknown>;
  onCancel: () => void;
}) {
  const id = useId();
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const set = <K extends keyof QuestionDraft>(key: K, value: QuestionDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setPoint = (at: number, change: Partial<PointDraft>) =>
    setDraft((d) => ({ ...d, points: d.points.map((p, i) => (i === at ? { ...p, ...change } : p)) }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSaving(true);
    try {
      const { id: _id, ...content } = bodyOf(draft);
      await onSave(editing ? { ...content, version: editing.version } : bodyOf(draft));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="card question-form form" onSubmit={submit} aria-labelledby={`${id}-title`} data-testid="question-form">
      <div className="card__head">
        <h2 id={`${id}-title`} className="card__title">
          {editing ? (
            <>
              Edit <code className="mono">{editing.id}</code> <span className="muted small">version {editing.version}</span>
            </>
          ) : (
            'New question'
          )}
        </h2>
      </div>

      <div className="question-form__grid">
        {!editing && (
          <div className="field">
            <label className="field__label" htmlFor={`${id}-qid`}>
              Id <span className="field__optional">optional</span>
            </label>
            <input
              id={`${id}-qid`}
              className="input mono"
              value={draft.id}
              onChange={(e) => set('id', e.target.value)}
              placeholder="backend-mid-12 (generated when empty)"
              pattern="^[a-z][a-z0-9_]*(-[a-z0-9_]+)+$"
              title="Lower-case letters, digits and _, in parts joined by hyphens"
              data-testid="question-form-id"
            />
          </div>
        )}
        <div className="field">
          <label className="field__label" htmlFor={`${id}-track`}>
            Track
          </label>
          <select
            id={`${id}-track`}
            className="select"
            value={draft.track}
            onChange={(e) => set('track', e.target.value as Track)}
            data-testid="question-form-track"
          >
            {TRACKS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-level`}>
            Level
          </label>
          <select
            id={`${id}-level`}
            className="select"
            value={draft.level}
            onChange={(e) => set('level', e.target.value as Level)}
            data-testid="question-form-level"
          >
            {LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-topics`}>
            Tags
          </label>
          <input
            id={`${id}-topics`}
            className="input"
            value={draft.topics}
            onChange={(e) => set('topics', e.target.value)}
            placeholder="caching, system design"
            required
            data-testid="question-form-topics"
          />
          <span className="field__hint">Comma-separated, 1 to 10.</span>
        </div>
      </div>

      <div className="field">
        <label className="field__label" htmlFor={`${id}-text`}>
          Question
        </label>
        <textarea
          id={`${id}-text`}
          className="textarea"
          rows={3}
          maxLength={2000}
          value={draft.text}
          onChange={(e) => set('text', e.target.value)}
          required
          data-testid="question-form-text"
        />
      </div>

      <fieldset className="fieldset">
        <legend className="fieldset__legend">Scoring points</legend>
        <p className="field__hint">
          What a strong answer covers ({MIN_POINTS} to {MAX_POINTS}), each with the keywords that show it was covered. Behavioral
          questions start each point with its STAR element.
        </p>
        <ol className="points-editor">
          {draft.points.map((p, i) => (
            <li key={i} className="points-editor__item" data-testid="question-form-point">
              <div className="field">
                <label className="field__label" htmlFor={`${id}-point-${i}`}>
                  Point {i + 1}
                </label>
                <input
                  id={`${id}-point-${i}`}
                  className="input"
                  maxLength={200}
                  value={p.point}
                  onChange={(e) => setPoint(i, { point: e.target.value })}
                  required
                  data-testid={`question-form-point-${i}`}
                />
              </div>
              <div className="field">
                <label className="field__label" htmlFor={`${id}-keywords-${i}`}>
                  Keywords
                </label>
                <input
                  id={`${id}-keywords-${i}`}
                  className="input"
                  value={p.keywords}
                  onChange={(e) => setPoint(i, { keywords: e.target.value })}
                  placeholder="ttl, invalidation"
                  required
                  data-testid={`question-form-keywords-${i}`}
                />
              </div>
              {draft.points.length > MIN_POINTS && (
                <button
                  type="button"
                  className="btn btn--ghost btn--sm points-editor__remove"
                  onClick={() => set('points', draft.points.filter((_, j) => j !== i))}
                  aria-label={`Remove point ${i + 1}`}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ol>
        {draft.points.length < MAX_POINTS && (
          <button
            type="button"
            className="btn btn--ghost btn--sm"
            onClick={() => set('points', [...draft.points, { point: '', keywords: '' }])}
            data-testid="question-form-add-point"
          >
            Add a point
          </button>
        )}
      </fieldset>

      <div className="field">
        <label className="field__label" htmlFor={`${id}-follow`}>
          Follow-up
        </label>
        <textarea
          id={`${id}-follow`}
          className="textarea"
          rows={2}
          maxLength={1000}
          value={draft.followUp}
          onChange={(e) => set('followUp', e.target.value)}
          required
          data-testid="question-form-followup"
        />
      </div>

      {error && (
        <div data-testid="question-form-error">
          <Alert tone="danger" title="Not saved">
            {error}
          </Alert>
        </div>
      )}

      <div className="button-row">
        <button type="submit" className="btn btn--primary" disabled={saving} data-testid="question-form-save">
          {saving ? 'Saving…' : editing ? 'Save changes' : 'Create question'}
        </button>
        <button type="button" className="btn btn--secondary" onClick={onCancel} data-testid="question-form-cancel">
          Cancel
        </button>
      </div>
    </form>
  );
}
