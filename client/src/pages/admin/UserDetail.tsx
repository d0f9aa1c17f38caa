import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useAdminUser, useUserActions, type AdminUser, type Role } from '../../api/admin';
import { ApiError, errorMessage } from '../../api/errors';
import { useAuth } from '../../auth/AuthContext';
import { ActionResult, TableScroll } from '../../components/admin/AdminUi';
import { EmptyState, ErrorState, LoadingBlock, PageHeader, ScoreBadge, StatusPill } from '../../components/ui';
import { formatDate, formatDateTime, levelLabel, plural, trackLabel } from '../../lib/format';

const MAX_CREDIT_DELTA = 1000;

type Outcome = { state: 'ok' | 'error'; text: string } | null;

function RoleCard({ user, self, actions }: { user: AdminUser; self: boolean; actions: ReturnType<typeof useUserActions> }) {
  const id = useId();
  const [role, setRole] = useState<Role>(user.role);
  const [outcome, setOutcome] = useState<Outcome>(null);
  useEffect(() => setRole(user.role), [user.role]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const next = await actions.role.mutateAsync(role);
      setOutcome({ state: 'ok', text: `Role is now ${next.role === 'admin' ? 'administrator' : 'candidate'}.` });
    } catch (error) {
      setOutcome({ state: 'error', text: errorMessage(error) });
    }
  }

  return (
    <form className="card admin-action" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card__title">
        Role
      </h2>
      <div className="admin-action__row">
        <label className="visually-hidden" htmlFor={`${id}-role`}>
          Role
        </label>
        <select
          id={`${id}-role`}
          className="select"
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
          data-testid="user-role-select"
        >
          <option value="candidate">Candidate</option>
          <option value="admin">Administrator</option>
        </select>
        <button
          type="submit"
          className="btn btn--secondary"
          disabled={role === user.role || actions.role.isPending}
          data-testid="user-role-save"
        >
          {actions.role.isPending ? 'Saving…' : 'Change role'}
        </button>
      </div>
      {self && <p className="field__hint">This is your account: another administrator must lower your role.</p>}
      {outcome && (
        <ActionResult state={outcome.state} testId="user-role-result">
          {outcome.text}
        </ActionResult>
      )}
    </form>
  );
}

function CreditsCard({ user, actions }: { user: AdminUser; actions: ReturnType<typeof useUserActions> }) {
  const id = useId();
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState<Outcome>(null);
  const amount = Number(delta);
  const validAmount = delta.trim() !== '' && Number.isInteger(amount) && amount !== 0 && Math.abs(amount) <= MAX_CREDIT_DELTA;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!validAmount || !reason.trim()) return;
    try {
      const next = await actions.credits.mutateAsync({ delta: amount, reason: reason.trim() });
      setOutcome({
        state: 'ok',
        text: `${amount > 0 ? 'Granted' : 'Removed'} ${plural(Math.abs(amount), 'credit')}. Balance now ${next.credit_balance}.`,
      });
      setDelta('');
      setReason('');
    } catch (error) {
      setOutcome({ state: 'error', text: errorMessage(error) });
    }
  }

  return (
    <form className="card admin-action" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card__title">
        Credits <span className="admin-action__value" data-testid="user-credits">{user.credit_balance}</span>
      </h2>
      <div className="field-pair">
        <div className="field">
          <label className="field__label" htmlFor={`${id}-delta`}>
            Change
          </label>
          <input
            id={`${id}-delta`}
            className="input"
            type="number"
            inputMode="numeric"
            step={1}
            min={-MAX_CREDIT_DELTA}
            max={MAX_CREDIT_DELTA}
            placeholder="e.g. 5 or -2"
            value={delta}
            onChange={(e) => setDelta(e.target.value)}
            aria-invalid={(delta !== '' && !validAmount) || undefined}
            data-testid="user-credits-delta"
          />
          <span className="field__hint">Positive grants, negative removes (up to {MAX_CREDIT_DELTA}).</span>
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-reason`}>
            Reason
          </label>
          <input
            id={`${id}-reason`}
            className="input"
            maxLength={200}
            placeholder="Kept in the audit log"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            data-testid="user-credits-reason"
          />
        </div>
      </div>
      <div>
        <button
          type="submit"
          className="btn btn--secondary"
          disabled={!validAmount || !reason.trim() || actions.credits.isPending}
          data-testid="user-credits-submit"
        >
          {actions.credits.isPending ? 'Saving…' : validAmount && amount < 0 ? 'Remove credits' : 'Grant credits'}
        </button>
      </div>
      {outcome && (
        <ActionResult state={outcome.state} testId="user-credits-result">
          {outcome.text}
        </ActionResult>
      )}
    </form>
  );
}

function AccessCard({ user, self, actions }: { user: AdminUser; self: boolean; actions: ReturnType<typeof useUserActions> }) {
  const id = useId();
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const dialogRef = useRef<HTMLDialogElement>(null);
  const disabled = user.disabled_at !== null;
  const busy = actions.disable.isPending || actions.enable.isPending;

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (confirm && !dialog.open) dialog.showModal?.();
    if (!confirm && dialog.open) dialog.close();
  }, [confirm]);

  async function apply() {
    setConfirm(false);
    try {
      if (disabled) {
        await actions.enable.mutateAsync();
        setOutcome({ state: 'ok', text: 'The account is enabled: it can sign in again.' });
      } else {
        await actions.disable.mutateAsync();
        setOutcome({ state: 'ok', text: 'The account is disabled: its sessions ended and its live interviews were closed.' });
      }
    } catch (error) {
      setOutcome({ state: 'error', text: errorMessage(error) });
    }
  }

  return (
    <section className="card admin-action" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card__title">
        Access{' '}
        {disabled ? (
          <span className="tag tag--danger" data-testid="user-access">
            Disabled
          </span>
        ) : (
          <span className="tag tag--success" data-testid="user-access">
            Active
          </span>
        )}
      </h2>
      <p className="muted small">
        {disabled
          ? `Disabled ${formatDateTime(user.disabled_at)}. Enabling lets the account sign in again; its old sessions stay signed out.`
          : 'Disabling signs the account out everywhere at once and ends its live interviews.'}
      </p>
      <div>
        <button
          type="button"
          className={disabled ? 'btn btn--secondary' : 'btn btn--danger'}
          disabled={busy || (self && !disabled)}
          onClick={() => setConfirm(true)}
          data-testid={disabled ? 'user-enable' : 'user-disable'}
        >
          {busy ? 'Saving…' : disabled ? 'Enable account…' : 'Disable account…'}
        </button>
      </div>
      {self && !disabled && <p className="field__hint">You cannot disable your own account.</p>}
      {outcome && (
        <ActionResult state={outcome.state} testId="user-access-result">
          {outcome.text}
        </ActionResult>
      )}
      <dialog
        ref={dialogRef}
        className="dialog"
        aria-labelledby={`${id}-confirm-title`}
        onClose={() => setConfirm(false)}
        onCancel={() => setConfirm(false)}
        data-testid="user-confirm-dialog"
      >
        <h2 id={`${id}-confirm-title`} className="dialog__title">
          {disabled ? `Enable ${user.email}?` : `Disable ${user.email}?`}
        </h2>
        <p className="dialog__text">
          {disabled
            ? 'The account can sign in again.'
            : 'Sign-in is refused from now on, every session ends at once, and any live interview is ended and reported on what was answered.'}
        </p>
        <div className="dialog__actions">
          <button type="button" className="btn btn--secondary" onClick={() => setConfirm(false)} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            className={disabled ? 'btn btn--primary' : 'btn btn--danger'}
            onClick={() => void apply()}
            data-testid="user-confirm"
          >
            {disabled ? 'Enable' : 'Disable'}
          </button>
        </div>
      </dialog>
    </section>
  );
}

export function UserDetail() {
  const { id = '' } = useParams();
  const query = useAdminUser(id);
  const actions = useUserActions(id);
  const { user: me } = useAuth();

  if (query.isPending) {
    return (
      <div className="page admin-page">
        <LoadingBlock label="Loading the account" lines={6} />
      </div>
    );
  }
  if (query.isError) {
    const missing = query.error instanceof ApiError && (query.error.status === 404 || query.error.status === 422);
    return (
      <div className="page admin-page">
        {missing ? (
          <EmptyState
            title="No such user"
            action={
              <Link className="btn btn--primary" to="/admin/users">
                All users
              </Link>
            }
          >
            The account may have been deleted.
          </EmptyState>
        ) : (
          <ErrorState title="Could not load the account" error={query.error} onRetry={() => void query.refetch()} />
        )}
      </div>
    );
  }

  const user = query.data;
  const self = me?.id === user.id;
  return (
    <div className="page admin-page">
      <PageHeader
        back={{ to: '/admin/users', label: 'Users' }}
        title={<span className="break-all" data-testid="user-email">{user.email}</span>}
        subtitle={
          <>
            {user.role === 'admin' ? 'Administrator' : 'Candidate'} · joined {formatDate(user.created_at)} ·{' '}
            {plural(user.interview_count, 'interview')}
            {self ? ' · you' : ''}
          </>
        }
      />

      <div className="admin-actions">
        <RoleCard user={user} self={self} actions={actions} />
        <CreditsCard user={user} actions={actions} />
        <AccessCard user={user} self={self} actions={actions} />
      </div>

      <section className="card card--flush" aria-labelledby="user-interviews-title">
        <div className="card__head card__head--padded">
          <h2 id="user-interviews-title" className="card__title">
            Interviews
          </h2>
          {user.interview_count > user.interviews.length && (
            <span className="muted small">
              The newest {user.interviews.length} of {user.interview_count}
            </span>
          )}
        </div>
        {user.interviews.length === 0 ? (
          <p className="muted card__body">No interviews yet.</p>
        ) : (
          <TableScroll label="Interviews">
            <table className="table" data-testid="user-interviews">
              <thead>
                <tr>
                  <th scope="col">Interview</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Score
                  </th>
                  <th scope="col">Created</th>
                  <th scope="col" className="end">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {user.interviews.map((i) => (
                  <tr key={i.id} data-testid="user-interview-row" data-interview-id={i.id}>
                    <th scope="row" className="cell-main">
                      <Link to={`/admin/users/${user.id}/interviews/${i.id}`} data-testid="user-interview-link">
                        {trackLabel(i.track)} · {levelLabel(i.level)}
                      </Link>
                    </th>
                    <td>
                      <StatusPill status={i.status} />
                    </td>
                    <td className="num">
                      <ScoreBadge score={i.overall_score} size="sm" label="Overall score" />
                    </td>
                    <td>{formatDateTime(i.created_at)}</td>
                    <td className="end">
                      {i.status === 'live' && (
                        <Link
                          className="btn btn--secondary btn--sm"
                          to={`/admin/interviews/${i.id}/watch?user=${user.id}`}
                          data-testid="user-interview-watch"
                        >
                          Watch
                        </Link>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </div>
  );
}
