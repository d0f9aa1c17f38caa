import { useId, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, errorMessage, formatWait } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { safeNext } from '../components/RequireAuth';
import { emailProblem } from '../lib/email';

type Mode = 'login' | 'signup';

const COPY: Record<Mode, { title: string; subtitle: string; submit: string; busy: string }> = {
  login: {
    title: 'Welcome back',
    subtitle: 'Sign in to continue practising.',
    submit: 'Sign in',
    busy: 'Signing in…',
  },
  signup: {
    title: 'Create your account',
    subtitle: 'Practise real interview questions and get scored feedback on every answer. You start with free credits.',
    submit: 'Create account',
    busy: 'Creating account…',
  },
};

function describe(error: unknown, mode: Mode): string {
  if (error instanceof ApiError) {
    if (error.code === 'invalid_credentials') return 'That email and password do not match. Check them and try again.';
    if (error.status === 429) {
      return error.retryAfterS
        ? `Too many attempts. Try again in ${formatWait(error.retryAfterS)}.`
        : error.message;
    }
    if (error.status === 409) return 'An account with this email already exists. Sign in instead?';
    if (error.code === 'validation_error') {
      // Said beside the email field instead (see emailError).
      if (error.fields.email) return mode === 'signup' ? '' : 'Enter a valid email address.';
      if (error.fields.password) {
        if (mode === 'signup' && /common/i.test(error.fields.password)) return error.fields.password;
        return mode === 'signup' ? 'Use a password of at least 8 characters.' : 'Enter your password.';
      }
    }
  }
  return errorMessage(error);
}

/** The server's word on the email (a 422 for the field), as a sentence for the form. */
function serverEmailProblem(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.code !== 'validation_error' || !error.fields.email) return null;
  const reason = error.fields.email.replace(/^value is not a valid email address:\s*/i, '').trim();
  return reason ? `This is not a valid email address: ${reason}` : 'This is not a valid email address.';
}

export function AuthPage({ mode }: { mode: Mode }) {
  const copy = COPY[mode];
  const { signIn, signUp } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [showPassword, setShowPassword] = useState(false);
  const errorId = useId();
  const hintId = useId();
  const emailErrorId = useId();
  const emailRef = useRef<HTMLInputElement>(null);
  // The email is checked (as the server would) once the field is left or the form sent.
  const [emailChecked, setEmailChecked] = useState(false);

  const passwordTooShort = mode === 'signup' && password.length > 0 && password.length < 8;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (mode === 'signup') {
      setEmailChecked(true);
      if (emailProblem(email)) {
        setError(null);
        emailRef.current?.focus();
        return;
      }
    }
    if (mode === 'signup' && password.length < 8) {
      setError(new Error('Use a password of at least 8 characters.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await (mode === 'login' ? signIn : signUp)(email.trim(), password);
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
      setBusy(false);
      if (serverEmailProblem(e)) emailRef.current?.focus();
    }
  }

  const message = error ? describe(error, mode) || null : null;
  const emailError =
    mode === 'signup' ? (emailChecked ? emailProblem(email) : null) ?? serverEmailProblem(error) : null;
  const emailDescribedBy = [emailError ? emailErrorId : '', message ? errorId : ''].filter(Boolean).join(' ');
  const conflict = error instanceof ApiError && error.status === 409;
  // The message above the form is about the email too when the pair was refused or the address is taken.
  const emailRefused = error instanceof ApiError && (error.code === 'invalid_credentials' || conflict);
  const otherLink = `${mode === 'login' ? '/signup' : '/login'}${location.search}`;

  return (
    <section className="auth-card" aria-labelledby="auth-title">
      <h1 id="auth-title" className="auth-card__title">
        {copy.title}
      </h1>
      <p className="auth-card__subtitle">{copy.subtitle}</p>
      {message && (
        <div className="alert alert--danger" role="alert" id={errorId}>
          <div className="alert__body">
            <div className="alert__text">
              {message}{' '}
              {conflict && (
                <Link to={`/login${location.search}`}>Sign in</Link>
              )}
            </div>
          </div>
        </div>
      )}
      <form className="form" onSubmit={onSubmit} noValidate>
        <div className="field">
          <label className="field__label" htmlFor="email">
            Email
          </label>
          <input
            ref={emailRef}
            id="email"
            className="input"
            type="email"
            name="email"
            autoComplete="email"
            inputMode="email"
            required
            value={email}
            onChange={(e) => {
              setEmail(e.target.value);
              // A server refusal is about the address that was sent, not this one.
              if (serverEmailProblem(error)) setError(null);
            }}
            onBlur={() => {
              if (mode === 'signup' && email.trim()) setEmailChecked(true);
            }}
            aria-invalid={emailError || emailRefused ? true : undefined}
            aria-describedby={emailDescribedBy || undefined}
            autoFocus
          />
          {emailError && (
            <p id={emailErrorId} className="field__error" data-testid="email-error">
              {emailError}
            </p>
          )}
        </div>
        <div className="field">
          <div className="field__row">
            <label className="field__label" htmlFor="password">
              Password
            </label>
            <button
              type="button"
              className="link-button"
              onClick={() => setShowPassword((v) => !v)}
              aria-controls="password"
              aria-pressed={showPassword}
            >
              {showPassword ? 'Hide' : 'Show'}
            </button>
          </div>
          <input
            id="password"
            className="input"
            type={showPassword ? 'text' : 'password'}
            name="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'signup' ? 8 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={message || passwordTooShort ? true : undefined}
            aria-describedby={[mode === 'signup' ? hintId : '', message ? errorId : ''].filter(Boolean).join(' ') || undefined}
          />
          {mode === 'login' && (
            <p className="field__hint">
              <Link to="/forgot-password">Forgot password?</Link>
            </p>
          )}
          {mode === 'signup' && (
            <p id={hintId} className={passwordTooShort ? 'field__hint field__hint--warn' : 'field__hint'}>
              At least 8 characters.
            </p>
          )}
        </div>
        <button type="submit" className="btn btn--primary btn--block" disabled={busy}>
          {busy ? copy.busy : copy.submit}
        </button>
      </form>
      <p className="auth-card__switch">
        {mode === 'login' ? 'New here?' : 'Already have an account?'}{' '}
        <Link to={otherLink}>{mode === 'login' ? 'Create an account' : 'Sign in'}</Link>
      </p>
    </section>
  );
}
