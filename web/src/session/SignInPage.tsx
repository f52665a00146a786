import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { SESSION_KEY, signIn } from './session';
import { LanguagePicker } from '../shared/LanguagePicker';
import { Link } from '../app/router';

export function SignInPage() {
  const { t } = useTranslation('session');
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(email.trim(), password);
      queryClient.setQueryData(SESSION_KEY, session);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const seconds = Number(err.problem.retryAfter ?? 60);
        setError(t('rateLimited', { minutes: Math.max(1, Math.ceil(seconds / 60)) }));
      } else if (err instanceof ApiError && err.status === 401) setError(t('invalidCredentials'));
      else if (err instanceof ApiError && err.status === 0) setError(t('offline'));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <div className="signin-brand" aria-hidden="true">
          <img src="/icon.svg" alt="" width="48" height="48" />
        </div>
        <h1>{t('title')}</h1>
        <p className="muted">{t('subtitle')}</p>
        <label className="field">
          <span>{t('email')}</span>
          <input
            type="email"
            name="email"
            autoComplete="username"
            inputMode="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? 'signin-error' : undefined}
          />
        </label>
        <label className="field">
          <span>{t('password')}</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? 'signin-error' : undefined}
          />
        </label>
        {error && (
          <p className="error" id="signin-error" role="alert">
            {error}
          </p>
        )}
        <button className="button primary wide" type="submit" disabled={busy}>
          {busy ? t('signingIn') : t('signIn')}
        </button>
        <p className="signin-foot">
          <Link to="/forgot-password">{t('forgot')}</Link>
        </p>
        <div className="signin-foot">
          <LanguagePicker />
        </div>
      </form>
    </main>
  );
}
