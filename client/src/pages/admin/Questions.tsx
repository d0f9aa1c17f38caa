import { useMemo, useRef, useState, type ChangeEvent } from 'react';
import { useSearchParams } from 'react-router';
import {
  exportQuestions,
  ImportRefused,
  useQuestionActions,
  useQuestions,
  type BankFile,
  type ImportProblem,
  type ImportResult,
  type Question,
  type QuestionCreate,
  type QuestionFilters,
  type QuestionUpdate,
} from '../../api/admin';
import type { Level, Track } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { ActionResult, Pager } from '../../components/admin/AdminUi';
import { draftOf, emptyDraft, QuestionForm } from '../../components/admin/QuestionForm';
import { Alert, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/ui';
import { formatDate, levelLabel, LEVELS, plural, trackLabel, TRACKS } from '../../lib/format';
import { downloadText } from '../../lib/markdown';

const PAGE = 25;

type Editing = { question: Question | null; key: number } | null;

function QuestionRow({
  q,
  onEdit,
  onRetire,
  busy,
}: {
  q: Question;
  onEdit: () => void;
  onRetire: (retire: boolean) => void;
  busy: boolean;
}) {
  const retired = q.retired_at !== null;
  return (
    <li className={`qbank__item${retired ? ' qbank__item--retired' : ''}`} data-testid="question-row" data-question-id={q.id}>
      <div className="qbank__head">
        <code className="mono qbank__id">{q.id}</code>
        <span className="tag">{trackLabel(q.track)}</span>
        <span className="tag">{levelLabel(q.level)}</span>
        <span className="muted small">v{q.version}</span>
        {retired && (
          <span className="tag tag--warning" data-testid="question-retired">
            Retired {formatDate(q.retired_at)}
          </span>
        )}
        <div className="qbank__actions">
          <button type="button" className="btn btn--ghost btn--sm" onClick={onEdit} data-testid="question-edit">
            Edit
          </button>
          <button
            type="button"
            className="btn btn--secondary btn--sm"
            onClick={() => onRetire(!retired)}
            disabled={busy}
            data-testid={retired ? 'question-restore' : 'question-retire'}
          >
            {retired ? 'Restore' : 'Retire'}
          </button>
        </div>
      </div>
      <p className="qbank__text">{q.text}</p>
      <div className="chips">
        {q.topics.map((t) => (
          <span key={t} className="chip">
            {t}
          </span>
        ))}
      </div>
      <details className="qbank__more">
        <summary>
          {plural(q.points.length, 'scoring point')} and the follow-up
        </summary>
        <ol className="qbank__points">
          {q.points.map((p, i) => (
            <li key={i}>
              {p.point} <span className="muted small">({p.keywords.join(', ')})</span>
            </li>
          ))}
        </ol>
        <p className="small">
          <span className="muted">Follow-up:</span> {q.follow_up}
        </p>
      </details>
    </li>
  );
}

function readText(file: Blob): Promise<string> {
  if (typeof file.text === 'function') return file.text();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsText(file);
  });
}

function ImportExport() {
  const actions = useQuestionActions();
  const [track, setTrack] = useState<Track>('backend');
  const [withRetired, setWithRetired] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [problems, setProblems] = useState<ImportProblem[] | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  async function download() {
    setExporting(true);
    setExportError(null);
    try {
      const file = await exportQuestions(track, withRetired);
      downloadText(`${track}-questions.json`, `${JSON.stringify(file, null, 2)}\n`, 'application/json');
    } catch (error) {
      setExportError(errorMessage(error));
    } finally {
      setExporting(false);
    }
  }

  async function upload(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setResult(null);
    setProblems(null);
    setImportError(null);
    let parsed: BankFile;
    try {
      parsed = JSON.parse(await readText(file)) as BankFile;
    } catch {
      setImportError(`${file.name} is not JSON. Export a track to see the shape an import expects.`);
      return;
    }
    try {
      setResult(await actions.import.mutateAsync(parsed));
    } catch (error) {
      if (error instanceof ImportRefused) setProblems(error.problems);
      else setImportError(errorMessage(error));
    }
  }

  return (
    <section className="card qbank-io" aria-labelledby="qbank-io-title">
      <h2 id="qbank-io-title" className="card__title">
        Export and import
      </h2>
      <div className="qbank-io__grid">
        <div className="qbank-io__part">
          <div className="admin-action__row">
            <label className="visually-hidden" htmlFor="export-track">
              Track to export
            </label>
            <select
              id="export-track"
              className="select"
              value={track}
              onChange={(e) => setTrack(e.target.value as Track)}
              data-testid="questions-export-track"
            >
              {TRACKS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="btn btn--secondary"
              onClick={() => void download()}
              disabled={exporting}
              data-testid="questions-export"
            >
              {exporting ? 'Exporting…' : 'Download JSON'}
            </button>
          </div>
          <label className="switch">
            <input type="checkbox" checked={withRetired} onChange={(e) => setWithRetired(e.target.checked)} />
            <span>Include retired questions</span>
          </label>
          {exportError && (
            <ActionResult state="error" testId="questions-export-error">
              {exportError}
            </ActionResult>
          )}
        </div>
        <div className="qbank-io__part">
          <input
            ref={fileRef}
            type="file"
            accept="application/json,.json"
            className="visually-hidden"
            onChange={(e) => void upload(e)}
            data-testid="questions-import-file"
            id="import-file"
            tabIndex={-1}
          />
          <button
            type="button"
            className="btn btn--secondary"
            onClick={() => fileRef.current?.click()}
            disabled={actions.import.isPending}
            data-testid="questions-import"
          >
            {actions.import.isPending ? 'Importing…' : 'Import a JSON file…'}
          </button>
          <p className="field__hint">One track's file, as exported. Questions are created or updated by id, all or nothing.</p>
        </div>
      </div>
      {result && (
        <div data-testid="questions-import-result">
          <Alert tone="success" title="Imported" onDismiss={() => setResult(null)}>
            {result.created} created, {result.updated} updated, {result.unchanged} unchanged.
            {result.created_ids.length > 0 && <> New: {result.created_ids.join(', ')}.</>}
            {result.updated_ids.length > 0 && <> Updated: {result.updated_ids.join(', ')}.</>}
          </Alert>
        </div>
      )}
      {problems && (
        <div data-testid="questions-import-errors">
          <Alert tone="danger" title="Nothing was imported: the file breaks the bank's rules" onDismiss={() => setProblems(null)}>
            <ul className="import-problems">
              {problems.map((p, i) => (
                <li key={i}>
                  <strong>{p.where}</strong>: {p.message}
                </li>
              ))}
            </ul>
          </Alert>
        </div>
      )}
      {importError && (
        <div data-testid="questions-import-errors">
          <Alert tone="danger" title="Nothing was imported" onDismiss={() => setImportError(null)}>
            {importError}
          </Alert>
        </div>
      )}
    </section>
  );
}

export function Questions() {
  const [params, setParams] = useSearchParams();
  const filters: QuestionFilters = useMemo(
    () => ({
      track: (params.get('track') ?? '') as Track | '',
      level: (params.get('level') ?? '') as Level | '',
      tag: params.get('tag') ?? '',
      search: params.get('q') ?? '',
      includeRetired: params.get('retired') === '1',
    }),
    [params],
  );
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const query = useQuestions(filters, PAGE, offset);
  const actions = useQuestionActions();
  const [editing, setEditing] = useState<Editing>(null);
  const [notice, setNotice] = useState<{ state: 'ok' | 'error'; text: string } | null>(null);
  const formAt = useRef<HTMLDivElement>(null);

  function update(changes: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!('offset' in changes)) next.delete('offset');
    setParams(next, { replace: !('offset' in changes) });
  }

  function edit(question: Question | null) {
    setEditing({ question, key: Date.now() });
    setNotice(null);
    requestAnimationFrame(() => formAt.current?.scrollIntoView?.({ block: 'start', behavior: 'smooth' }));
  }

  async function setRetired(q: Question, retire: boolean) {
    try {
      const next = retire ? await actions.retire.mutateAsync(q.id) : await actions.restore.mutateAsync(q.id);
      setNotice({ state: 'ok', text: `${next.id} ${retire ? 'retired: new interviews will not ask it' : 'restored'}.` });
    } catch (error) {
      setNotice({ state: 'error', text: errorMessage(error) });
    }
  }

  const filtering = !!(filters.track || filters.level || filters.tag || filters.search || filters.includeRetired);

  return (
    <div className="page admin-page">
      <PageHeader
        title="Question bank"
        subtitle="The offline interviewer's questions. Changes reach new interviews within seconds; running ones keep theirs."
        actions={
          <button type="button" className="btn btn--primary" onClick={() => edit(null)} data-testid="questions-new">
            New question
          </button>
        }
      />

      <ImportExport />

      <div ref={formAt}>
        {editing && (
          <QuestionForm
            key={editing.key}
            editing={editing.question}
            initial={editing.question ? draftOf(editing.question) : emptyDraft(filters.track || undefined, filters.level || undefined)}
            onCancel={() => setEditing(null)}
            onSave={async (body) => {
              const saved = editing.question
                ? await actions.update.mutateAsync({ id: editing.question.id, body: body as QuestionUpdate })
                : await actions.create.mutateAsync(body as QuestionCreate);
              setEditing(null);
              setNotice({ state: 'ok', text: `${saved.id} saved (version ${saved.version}).` });
            }}
          />
        )}
      </div>

      {notice && (
        <ActionResult state={notice.state} testId="questions-notice">
          {notice.text}
        </ActionResult>
      )}

      <div className="filters" role="search" aria-label="Filter questions">
        <div className="field field--inline filters__grow">
          <label className="field__label" htmlFor="questions-search">
            Search
          </label>
          <input
            id="questions-search"
            className="input"
            type="search"
            placeholder="Text or id…"
            value={filters.search}
            onChange={(e) => update({ q: e.target.value })}
            data-testid="questions-search"
          />
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="questions-track">
            Track
          </label>
          <select
            id="questions-track"
            className="select"
            value={filters.track}
            onChange={(e) => update({ track: e.target.value })}
            data-testid="questions-filter-track"
          >
            <option value="">All tracks</option>
            {TRACKS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="questions-level">
            Level
          </label>
          <select
            id="questions-level"
            className="select"
            value={filters.level}
            onChange={(e) => update({ level: e.target.value })}
            data-testid="questions-filter-level"
          >
            <option value="">All levels</option>
            {LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="questions-tag">
            Tag
          </label>
          <input
            id="questions-tag"
            className="input"
            type="search"
            placeholder="One tag"
            value={filters.tag}
            onChange={(e) => update({ tag: e.target.value })}
            data-testid="questions-filter-tag"
          />
        </div>
        <label className="switch filters__switch">
          <input
            type="checkbox"
            checked={filters.includeRetired}
            onChange={(e) => update({ retired: e.target.checked ? '1' : '' })}
            data-testid="questions-filter-retired"
          />
          <span>Include retired</span>
        </label>
        {filtering && (
          <button
            type="button"
            className="btn btn--ghost btn--sm filters__clear"
            onClick={() => setParams(new URLSearchParams(), { replace: true })}
          >
            Clear filters
          </button>
        )}
      </div>

      <div className="card card--flush">
        {query.isPending ? (
          <LoadingBlock label="Loading questions" lines={6} />
        ) : query.isError ? (
          <ErrorState title="Could not load the questions" error={query.error} onRetry={() => void query.refetch()} />
        ) : query.data.items.length === 0 ? (
          <EmptyState title={filtering ? 'No question matches' : 'The bank is empty'}>
            {filtering ? 'Try other filters, or include retired questions.' : 'Create a question or import a file.'}
          </EmptyState>
        ) : (
          <ul className="qbank" data-testid="questions-list" aria-busy={query.isFetching}>
            {query.data.items.map((q) => (
              <QuestionRow
                key={q.id}
                q={q}
                onEdit={() => edit(q)}
                onRetire={(retire) => void setRetired(q, retire)}
                busy={actions.retire.isPending || actions.restore.isPending}
              />
            ))}
          </ul>
        )}
      </div>
      {query.data && <Pager offset={offset} limit={PAGE} total={query.data.total} onOffset={(o) => update({ offset: o ? String(o) : '' })} noun="question" />}
    </div>
  );
}
