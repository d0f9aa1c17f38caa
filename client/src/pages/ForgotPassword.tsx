import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, call } from '../api/client';
import { ApiError, errorMessage, formatWait } from '../api/errors';

/** Asks for a reset link. The answer is the same whether or not the email has an account. */
export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  const errorId = useId();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (!email.trim()) {
      setError(new Error('Enter the email you signed up with.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await call(api.POST('/api/auth/forgot-password', { body: { email: email.trim() } }));
      setSent(answer.detail);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const message = error ? describe(error) : null;

  return (
    <section className="auth-card" aria-labelledby="forgot-title">
      <h1 id="forgot-title" className="auth-card__title">
        Reset your password
      </h1>
      {sent ? (
        <>
          <div className="alert alert--success" role="status">
            <div className="alert__body">
              <strong className="alert__title">Check your email</strong>
              <div className="alert__text">{sent}</div>
            </div>
          </div>
          <p className="auth-card__switch">
            <Link to="/login">Back to sign in</Link>
          </p>
        </>
      ) : (
        <>
          <p className="auth-card__subtitle">Enter your email and we will send you a link to choose a new password.</p>
          {message && (
            <div className="alert alert--danger" role="alert" id={errorId}>
              <div className="alert__body">
                <div className="alert__text">{message}</div>
              </div>
            </div>
          )}
          <form className="form" onSubmit={onSubmit} noValidate>
            <div className="field">
              <label className="field__label" htmlFor="email">
                Email
              </label>
              <input
                id="email"
                className="input"
                type="email"
                name="email"
                autoComplete="email"
                inputMode="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                aria-invalid={message ? true : undefined}
                aria-describedby={message ? errorId : undefined}
                autoFocus
              />
            </div>
            <button type="submit" className="btn btn--primary btn--block" disabled={busy}>
              {busy ? 'Sending…' : 'Send reset link'}
            </button>
          </form>
          <p className="auth-card__switch">
            Remembered it? <Link to="/login">Sign in</Link>
          </p>
        </>
      )}
    </section>
  );
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      return error.retryAfterS ? `Too many requests. Try again in ${formatWait(error.retryAfterS)}.` : error.message;
    }
    if (error.code === 'validation_error' && error.fields.email) return 'Enter a valid email address.';
  }
  return errorMessage(error);
}
