import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, call, fieldErrors } from '../api/client';
import { Link, useLocation } from '../app/router';

/** "Forgot your password?": asks for the email; the answer never says whether the address is known. */
export function ForgotPasswordPage() {
  const { t } = useTranslation('session');
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await call(api.POST('/api/password/forgot', { body: { email: email.trim() } }));
      setSent(true);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? t('tooManyRequests') : t('failed'));
    }
  };
  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <h1>{t('forgotTitle')}</h1>
        {sent ? (
          <p className="success" role="status">
            {t('forgotSent')}
          </p>
        ) : (
          <>
            <p className="muted">{t('forgotHelp')}</p>
            <label className="field">
              <span>{t('email')}</span>
              <input
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </label>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
            <button className="button primary wide" type="submit">
              {t('sendLink')}
            </button>
          </>
        )}
        <p className="signin-foot">
          <Link to="/">{t('backToSignIn')}</Link>
        </p>
      </form>
    </main>
  );
}

/** The page an invite or reset email links to: `/set-password?token=...`. */
export function SetPasswordPage() {
  const { t } = useTranslation('session');
  const { search } = useLocation();
  const token = search.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== confirm) return setErrors({ confirm: t('mismatch') });
    setErrors({});
    try {
      await call(api.POST('/api/password/reset', { body: { token, password } }));
      setDone(true);
    } catch (err) {
      const fields = err instanceof ApiError ? fieldErrors(err.problem) : {};
      if (fields.token) fields.token = t('linkInvalid');
      setErrors(Object.keys(fields).length > 0 ? fields : { token: t('failed') });
    }
  };
  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <h1>{t('setTitle')}</h1>
        {done ? (
          <p className="success" role="status">
            {t('setDone')}
          </p>
        ) : (
          <>
            {errors.token && (
              <p className="error" role="alert">
                {errors.token}
              </p>
            )}
            <div className={`field${errors.password ? ' has-error' : ''}`}>
              <label htmlFor="new-password">{t('newPassword')}</label>
              <input
                id="new-password"
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                aria-invalid={errors.password ? true : undefined}
                aria-describedby={errors.password ? 'new-password-error' : 'new-password-help'}
              />
              <p className="help" id="new-password-help">
                {t('passwordRule')}
              </p>
              {errors.password && (
                <p className="field-error" id="new-password-error">
                  {errors.password}
                </p>
              )}
            </div>
            <div className={`field${errors.confirm ? ' has-error' : ''}`}>
              <label htmlFor="confirm-password">{t('confirmPassword')}</label>
              <input
                id="confirm-password"
                type="password"
                autoComplete="new-password"
                value={confirm}
                onChange={(e) => setConfirm(e.target.value)}
                aria-invalid={errors.confirm ? true : undefined}
                aria-describedby={errors.confirm ? 'confirm-password-error' : undefined}
              />
              {errors.confirm && (
                <p className="field-error" id="confirm-password-error">
                  {errors.confirm}
                </p>
              )}
            </div>
            <button className="button primary wide" type="submit">
              {t('setPassword')}
            </button>
          </>
        )}
        <p className="signin-foot">
          <Link to="/">{t('backToSignIn')}</Link>
        </p>
      </form>
    </main>
  );
}
