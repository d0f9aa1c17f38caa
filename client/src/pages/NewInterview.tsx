import { useId, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { Level, Track } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import { usePaymentsConfig } from '../api/payments';
import { useCreateInterview, useMe } from '../api/queries';
import { extractResume } from '../api/resumes';
import { Alert, PageHeader } from '../components/ui';
import { MicCheck, type MicCheckStatus } from '../components/voice/MicCheck';
import { formatLimit, LEVELS, plural, TRACKS } from '../lib/format';
import { loadLastAnswerMode, saveInterviewMode, saveLastAnswerMode, type AnswerMode } from '../voice/settings';

const TEXT_LIMIT = 20_000;
const MAX_TOPICS = 10;
const TIME_LIMITS = [30, 60, 120, 180, 300, 600, 900, 1800];

export function parseTopics(raw: string): string[] {
  const seen = new Set<string>();
  const topics: string[] = [];
  for (const part of raw.split(/[,\n]/)) {
    const topic = part.trim().replace(/\s+/g, ' ').slice(0, 80);
    if (topic && !seen.has(topic.toLowerCase())) {
      seen.add(topic.toLowerCase());
      topics.push(topic);
    }
  }
  return topics;
}

function TextSource({
  id,
  label,
  hint,
  value,
  onChange,
  placeholder,
  documents = false,
}: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onChange: (value: string) => void;
  placeholder: string;
  /** Also take PDF and Word files, read by the server. */
  documents?: boolean;
}) {
  const fileRef = useRef<HTMLInputElement>(null);
  const [fileNote, setFileNote] = useState<{ tone: 'info' | 'warning'; text: string } | null>(null);
  const hintId = `${id}-hint`;
  const noteId = `${id}-note`;

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    const isText = file.type === 'text/plain' || /\.(txt|md|text)$/i.test(file.name);
    if (!isText && documents) {
      setFileNote({ tone: 'info', text: `Reading ${file.name}…` });
      try {
        const read = await extractResume(file);
        onChange(read.text);
        const pages = read.pages ? ` (${read.pages} ${read.pages === 1 ? 'page' : 'pages'})` : '';
        setFileNote({
          tone: read.truncated ? 'warning' : 'info',
          text: read.truncated
            ? `Loaded ${file.name}${pages}; it was cut to the first ${TEXT_LIMIT.toLocaleString()} characters.`
            : `Loaded ${file.name}${pages}. Check the text above: it is what the interviewer reads.`,
        });
      } catch (error) {
        setFileNote({ tone: 'warning', text: errorMessage(error) || `Could not read ${file.name}.` });
      }
      return;
    }
    if (!isText) {
      setFileNote({
        tone: 'warning',
        text: `${file.name} is not a plain-text file: open the document, copy its text and paste it above.`,
      });
      return;
    }
    try {
      const text = (await file.text()).replace(/\r\n/g, '\n');
      const clipped = text.slice(0, TEXT_LIMIT);
      onChange(clipped);
      setFileNote({
        tone: text.length > TEXT_LIMIT ? 'warning' : 'info',
        text:
          text.length > TEXT_LIMIT
            ? `Loaded ${file.name}; it was cut to the first ${TEXT_LIMIT.toLocaleString()} characters.`
            : `Loaded ${file.name}.`,
      });
    } catch {
      setFileNote({ tone: 'warning', text: `Could not read ${file.name}.` });
    }
  }

  return (
    <div className="field">
      <div className="field__row">
        <label className="field__label" htmlFor={id}>
          {label} <span className="field__optional">optional</span>
        </label>
        <span className="field__counter" aria-live="off">
          {value.length.toLocaleString()} / {TEXT_LIMIT.toLocaleString()}
        </span>
      </div>
      <p id={hintId} className="field__hint">
        {hint}
      </p>
      <textarea
        id={id}
        className="textarea"
        rows={5}
        maxLength={TEXT_LIMIT}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        aria-describedby={fileNote ? `${hintId} ${noteId}` : hintId}
      />
      <div className="field__tools">
        <input
          ref={fileRef}
          id={`${id}-file`}
          type="file"
          accept={documents ? '.pdf,.docx,.txt,.md,text/plain,application/pdf' : '.txt,.md,text/plain'}
          className="visually-hidden"
          onChange={(e) => void onFile(e)}
          tabIndex={-1}
          // Named by the button that opens it (not by the field's label, which names the text box).
          aria-labelledby={`${id}-upload`}
        />
        <button id={`${id}-upload`} type="button" className="btn btn--ghost btn--sm" onClick={() => fileRef.current?.click()}>
          {documents ? 'Upload PDF, Word or .txt' : 'Upload .txt'}
        </button>
        {value && (
          <button type="button" className="btn btn--ghost btn--sm" onClick={() => onChange('')}>
            Clear
          </button>
        )}
        {fileNote && (
          <span id={noteId} className={`field__note field__note--${fileNote.tone}`} role="status">
            {fileNote.text}
          </span>
        )}
      </div>
    </div>
  );
}

const ANSWER_MODES: { value: AnswerMode; label: string; blurb: string }[] = [
  {
    value: 'voice',
    label: 'Answer by voice',
    // (Wording kept clear of other fields' labels: tests find fields by label text.)
    blurb: 'Speak your answers and hear the interviewer. You check each transcript before it is sent.',
  },
  { value: 'typed', label: 'Type answers', blurb: 'Write your answers. Good for a quiet room, or to think on the page.' },
];

/** A track or level from the address (`/new?track=frontend&level=senior`, as the dashboard links), if it is one. */
function fromQuery<T extends string>(value: string | null, allowed: readonly { value: T }[]): T | null {
  return allowed.find((option) => option.value === value)?.value ?? null;
}

export function NewInterview() {
  const navigate = useNavigate();
  const me = useMe();
  const create = useCreateInterview();
  const [query] = useSearchParams();
  const [track, setTrack] = useState<Track>(() => fromQuery(query.get('track'), TRACKS) ?? 'backend');
  const [level, setLevel] = useState<Level>(() => fromQuery(query.get('level'), LEVELS) ?? 'mid');
  const [topicsRaw, setTopicsRaw] = useState('');
  const [jobDescription, setJobDescription] = useState('');
  const [resume, setResume] = useState('');
  const [questionCount, setQuestionCount] = useState(5);
  const [timeLimit, setTimeLimit] = useState(180);
  const [answerMode, setAnswerModeState] = useState<AnswerMode>(() => loadLastAnswerMode());
  const [micStatus, setMicStatus] = useState<MicCheckStatus>('idle');
  const setAnswerMode = (mode: AnswerMode) => {
    setAnswerModeState(mode);
    saveLastAnswerMode(mode);
    // The check panel starts afresh each time voice is chosen.
    if (mode === 'voice') setMicStatus('idle');
  };
  // A voice interview needs a microphone that works here; the check runs before the credit is spent.
  const needsMicCheck = answerMode === 'voice' && micStatus !== 'passed';
  const topics = parseTopics(topicsRaw);
  const tooManyTopics = topics.length > MAX_TOPICS;
  const payments = usePaymentsConfig();
  const canBuy = payments.data?.enabled === true;
  const credits = me.data?.credits;
  // Below zero when a refund took back credits that had been used.
  const noCredits = credits !== undefined && credits <= 0;
  const errorRef = useRef<HTMLDivElement>(null);
  const countId = useId();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (create.isPending || tooManyTopics || needsMicCheck) return;
    try {
      const interview = await create.mutateAsync({
        track,
        level,
        topics,
        job_description: jobDescription.trim(),
        resume_text: resume.trim(),
        question_count: questionCount,
        answer_time_limit_s: timeLimit,
      });
      saveInterviewMode(interview.id, answerMode);
      navigate(`/interviews/${interview.id}`, { state: { answerMode } });
    } catch {
      requestAnimationFrame(() => errorRef.current?.focus());
    }
  }

  const error = create.error;
  const owes = error instanceof ApiError && error.code === 'balance_negative';
  const negative = owes || (credits !== undefined && credits < 0);
  const outOfCredits = (error instanceof ApiError && error.status === 402) || noCredits;
  // A full page load: the server allows Razorpay's script only on documents loaded at /credits.
  const buyLink = (
    <Link to="/credits" reloadDocument data-testid="new-buy-credits">
      Buy credits
    </Link>
  );

  return (
    <div className="page page--narrow">
      <PageHeader
        title="New interview"
        subtitle="Choose what to practise. The interviewer asks one question at a time and may follow up on your answers."
        back={{ to: '/', label: 'Dashboard' }}
      />

      <div ref={errorRef} tabIndex={-1} className="focus-target">
        {negative ? (
          <Alert tone="warning" title="Your credit balance is below zero">
            {owes
              ? errorMessage(error)
              : `Your balance is ${credits}: a refund took back ${plural(-(credits ?? 0), 'credit')} that had already been used.`}{' '}
            {canBuy ? (
              <>{buyLink} to settle it and keep practising.</>
            ) : (
              'Ask the administrator of this installation to settle it.'
            )}
          </Alert>
        ) : outOfCredits ? (
          <Alert tone="warning" title="You are out of credits">
            Each interview uses one credit and you have none left. Your past reports stay available in{' '}
            <Link to="/history">History</Link>.{' '}
            {canBuy ? (
              <>{buyLink} to keep practising.</>
            ) : (
              'Ask the administrator of this installation for more credits.'
            )}
          </Alert>
        ) : error ? (
          <Alert tone="danger" title="The interview could not be created">
            {errorMessage(error)}
          </Alert>
        ) : null}
      </div>

      <form className="form form--spaced" onSubmit={(e) => void onSubmit(e)}>
        <fieldset className="fieldset">
          <legend className="fieldset__legend">Track</legend>
          <div className="choice-grid">
            {TRACKS.map((t) => (
              <label key={t.value} className="choice">
                <input type="radio" name="track" value={t.value} checked={track === t.value} onChange={() => setTrack(t.value)} />
                <span className="choice__body">
                  <span className="choice__title">{t.label}</span>
                  <span className="choice__text">{t.blurb}</span>
                </span>
              </label>
            ))}
          </div>
        </fieldset>

        <fieldset className="fieldset">
          <legend className="fieldset__legend">Level</legend>
          <div className="segmented">
            {LEVELS.map((l) => (
              <label key={l.value} className="segmented__option">
                <input type="radio" name="level" value={l.value} checked={level === l.value} onChange={() => setLevel(l.value)} />
                <span>{l.label}</span>
              </label>
            ))}
          </div>
        </fieldset>

        <div className="field">
          <label className="field__label" htmlFor="topics">
            Topics <span className="field__optional">optional</span>
          </label>
          <p className="field__hint" id="topics-hint">
            Comma-separated, up to {MAX_TOPICS}. For example: caching, system design, Postgres.
          </p>
          <input
            id="topics"
            className="input"
            value={topicsRaw}
            onChange={(e) => setTopicsRaw(e.target.value)}
            aria-describedby="topics-hint"
            aria-invalid={tooManyTopics || undefined}
            autoComplete="off"
          />
          {topics.length > 0 && (
            <ul className="chips" aria-label="Topics">
              {topics.map((t) => (
                <li key={t} className="chip">
                  {t}
                </li>
              ))}
            </ul>
          )}
          {tooManyTopics && <p className="field__error">Use at most {MAX_TOPICS} topics ({topics.length} now).</p>}
        </div>

        <TextSource
          id="job-description"
          label="Job description"
          hint="Paste the posting or upload a .txt file; questions lean towards what it asks for."
          value={jobDescription}
          onChange={setJobDescription}
          placeholder="Paste the job description here"
        />
        <TextSource
          id="resume"
          label="Resume"
          hint="Paste your resume or upload it as a PDF, Word (.docx) or text file (up to 2 MB, 10 pages)."
          value={resume}
          onChange={setResume}
          placeholder="Paste your resume here"
          documents
        />

        <fieldset className="fieldset">
          <legend className="fieldset__legend">How you answer</legend>
          <div className="choice-grid choice-grid--two">
            {ANSWER_MODES.map((m) => (
              <label key={m.value} className="choice">
                <input
                  type="radio"
                  name="answer-mode"
                  value={m.value}
                  checked={answerMode === m.value}
                  onChange={() => setAnswerMode(m.value)}
                  data-testid={`answer-mode-${m.value}`}
                />
                <span className="choice__body">
                  <span className="choice__title">
                    <span className="choice__icon" aria-hidden="true">
                      {m.value === 'voice' ? <MicIcon /> : <KeyboardIcon />}
                    </span>
                    {m.label}
                  </span>
                  <span className="choice__text">{m.blurb}</span>
                </span>
              </label>
            ))}
          </div>
          {answerMode === 'voice' && (
            <MicCheck onStatus={setMicStatus} onUseTyping={() => setAnswerMode('typed')} />
          )}
        </fieldset>

        <div className="field-pair">
          <div className="field">
            <label className="field__label" htmlFor={countId}>
              Questions
            </label>
            <div className="range">
              <input
                id={countId}
                type="range"
                min={1}
                max={15}
                step={1}
                value={questionCount}
                onChange={(e) => setQuestionCount(Number(e.target.value))}
                aria-valuetext={plural(questionCount, 'question')}
              />
              <output htmlFor={countId} className="range__value">
                {questionCount}
              </output>
            </div>
            <p className="field__hint">About {Math.max(5, questionCount * 3)} minutes, follow-ups included.</p>
          </div>
          <div className="field">
            <label className="field__label" htmlFor="time-limit">
              Time per answer
            </label>
            <select id="time-limit" className="select" value={timeLimit} onChange={(e) => setTimeLimit(Number(e.target.value))}>
              {TIME_LIMITS.map((s) => (
                <option key={s} value={s}>
                  {formatLimit(s)}
                  {s === 180 ? ' (default)' : ''}
                </option>
              ))}
            </select>
            <p className="field__hint">Unanswered questions move on when time runs out.</p>
          </div>
        </div>

        <div className="submit-bar">
          <p className="submit-bar__credits">
            Uses <strong>1 credit</strong>
            {credits !== undefined && (
              <>
                , you have <strong>{credits}</strong>
              </>
            )}
            .
          </p>
          <div className="submit-bar__action">
            <button
              type="submit"
              className="btn btn--primary btn--lg"
              disabled={create.isPending || noCredits || tooManyTopics || needsMicCheck}
              aria-describedby={needsMicCheck ? 'start-hint' : undefined}
            >
              {create.isPending ? 'Starting…' : 'Start interview'}
            </button>
            {needsMicCheck && (
              <p id="start-hint" className="submit-bar__hint">
                Check your microphone first, or choose to type your answers.
              </p>
            )}
          </div>
        </div>
      </form>
    </div>
  );
}

function MicIcon() {
  return (
    <svg viewBox="0 0 20 20" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round">
      <rect x="7" y="2.5" width="6" height="10" rx="3" />
      <path d="M4.5 9.5a5.5 5.5 0 0 0 11 0M10 15v2.5" />
    </svg>
  );
}

function KeyboardIcon() {
  return (
    <svg viewBox="0 0 20 20" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round">
      <rect x="2" y="5" width="16" height="10" rx="2" />
      <path d="M5.5 8.5h1M9.5 8.5h1M13.5 8.5h1M6 12h8" />
    </svg>
  );
}
