import { useId, useState, type FormEvent } from 'react';
import { useAuth } from '../auth/AuthContext';
import { ApiError } from '../api/errors';
import { NEW_PASSWORD_HINT, PasswordField, describePasswordError } from '../components/PasswordField';
import { Purchases } from '../components/payments/Purchases';
import { Alert, PageHeader } from '../components/ui';

export function Account() {
  const { user } = useAuth();
  return (
    <div className="page">
      <PageHeader title="Account" subtitle={user ? `Signed in as ${user.email}` : undefined} />
      <section className="card" aria-labelledby="change-password-title">
        <h2 id="change-password-title" className="section-title">
          Change password
        </h2>
        <ChangePasswordForm />
      </section>
      <section className="card" aria-labelledby="purchases-title" data-testid="purchases">
        <h2 id="purchases-title" className="section-title">
          Purchases
        </h2>
        <Purchases />
      </section>
    </div>
  );
}

/** Needs the current password; this tab stays signed in, every other session is signed out. */
export function ChangePasswordForm() {
  const { changePassword } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const errorId = useId();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setDone(false);
    if (!current) {
      setError(new Error('Enter your current password.'));
      return;
    }
    if (next.length < 8) {
      setError(new Error('Use a new password of at least 8 characters.'));
      return;
    }
    if (next !== confirm) {
      setError(new Error('The two new passwords are not the same.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await changePassword(current, next);
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const message = error
    ? error instanceof ApiError && error.code === 'wrong_password'
      ? 'Your current password is not right.'
      : describePasswordError(error)
    : null;

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-describedby={message ? errorId : undefined}>
      {done && (
        <Alert tone="success" title="Password changed">
          You are still signed in here; every other device was signed out.
        </Alert>
      )}
      {message && (
        <div className="alert alert--danger" role="alert" id={errorId}>
          <div className="alert__body">
            <div className="alert__text">{message}</div>
          </div>
        </div>
      )}
      <PasswordField
        id="current-password"
        label="Current password"
        value={current}
        onChange={setCurrent}
        autoComplete="current-password"
      />
      <PasswordField
        id="new-password"
        label="New password"
        value={next}
        onChange={setNext}
        autoComplete="new-password"
        hint={NEW_PASSWORD_HINT}
      />
      <PasswordField
        id="confirm-password"
        label="Repeat the new password"
        value={confirm}
        onChange={setConfirm}
        autoComplete="new-password"
      />
      <button type="submit" className="btn btn--primary" disabled={busy}>
        {busy ? 'Saving…' : 'Change password'}
      </button>
    </form>
  );
}
