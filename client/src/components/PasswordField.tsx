import { useId, useState } from 'react';
import { ApiError, errorMessage, formatWait } from '../api/errors';

/** A password input with a Show/Hide toggle and an optional hint, in the sign-in page's style. */
export function PasswordField({
  id,
  label,
  value,
  onChange,
  autoComplete,
  hint,
  invalid,
  describedBy,
  autoFocus,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  autoComplete: 'current-password' | 'new-password';
  hint?: string;
  invalid?: boolean;
  describedBy?: string;
  autoFocus?: boolean;
}) {
  const [show, setShow] = useState(false);
  const hintId = useId();
  const tooShort = autoComplete === 'new-password' && value.length > 0 && value.length < 8;
  return (
    <div className="field">
      <div className="field__row">
        <label className="field__label" htmlFor={id}>
          {label}
        </label>
        <button
          type="button"
          className="link-button"
          onClick={() => setShow((v) => !v)}
          aria-controls={id}
          aria-pressed={show}
        >
          {show ? 'Hide' : 'Show'}
        </button>
      </div>
      <input
        id={id}
        className="input"
        type={show ? 'text' : 'password'}
        name={id}
        autoComplete={autoComplete}
        required
        minLength={autoComplete === 'new-password' ? 8 : undefined}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={invalid || tooShort ? true : undefined}
        aria-describedby={[hint ? hintId : '', describedBy ?? ''].filter(Boolean).join(' ') || undefined}
        autoFocus={autoFocus}
      />
      {hint && (
        <p id={hintId} className={tooShort ? 'field__hint field__hint--warn' : 'field__hint'}>
          {hint}
        </p>
      )}
    </div>
  );
}

export const NEW_PASSWORD_HINT = 'At least 8 characters, and not one of the most common passwords.';

/** What to say about a failed password change or reset. */
export function describePasswordError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      return error.retryAfterS ? `Too many attempts. Try again in ${formatWait(error.retryAfterS)}.` : error.message;
    }
    if (error.code === 'validation_error') {
      const problem = error.fields.new_password ?? error.fields.password;
      if (problem) return problem;
    }
  }
  return errorMessage(error);
}
