import { useId, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { NEW_PASSWORD_HINT, PasswordField, describePasswordError } from '../components/PasswordField';

/** Reached from the mailed link (`/reset-password?token=…`): choose a new password, then signed in. */
export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { resetPassword } = useAuth();
  const navigate = useNavigate();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errorId = useId();

  if (!token) {
    return (
      <section className="auth-card" aria-labelledby="reset-title">
        <h1 id="reset-title" className="auth-card__title">
          This link is incomplete
        </h1>
        <p className="auth-card__subtitle">Open the link from the email again, or ask for a new one.</p>
        <p className="auth-card__switch">
          <Link to="/forgot-password">Send a new link</Link>
        </p>
      </section>
    );
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (password.length < 8) {
      setError(new Error('Use a password of at least 8 characters.'));
      return;
    }
    if (password !== confirm) {
      setError(new Error('The two passwords are not the same.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await resetPassword(token, password);
      navigate('/', { replace: true });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  const message = error ? describePasswordError(error) : null;
  const linkDead = error instanceof ApiError && error.code === 'invalid_reset_token';

  return (
    <section className="auth-card" aria-labelledby="reset-title">
      <h1 id="reset-title" className="auth-card__title">
        Choose a new password
      </h1>
      <p className="auth-card__subtitle">You will be signed in, and signed out everywhere else.</p>
      {message && (
        <div className="alert alert--danger" role="alert" id={errorId}>
          <div className="alert__body">
            <div className="alert__text">
              {message} {linkDead && <Link to="/forgot-password">Send a new link</Link>}
            </div>
          </div>
        </div>
      )}
      <form className="form" onSubmit={onSubmit} noValidate>
        <PasswordField
          id="new-password"
          label="New password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint={NEW_PASSWORD_HINT}
          invalid={!!message}
          describedBy={message ? errorId : undefined}
          autoFocus
        />
        <PasswordField
          id="confirm-password"
          label="Repeat the new password"
          value={confirm}
          onChange={setConfirm}
          autoComplete="new-password"
        />
        <button type="submit" className="btn btn--primary btn--block" disabled={busy}>
          {busy ? 'Saving…' : 'Set new password'}
        </button>
      </form>
    </section>
  );
}
