import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from './router';
import { useSession } from '../session/session';
import { useOnline } from './useOnline';
import { useInboxStream } from './useInboxStream';
import { LanguagePicker } from '../shared/LanguagePicker';

/** Header, navigation, the offline banner and the live stream every signed-in screen shares. */
export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { user, signOut, setLanguage } = useSession();
  const online = useOnline();
  const stream = useInboxStream(online);
  const { path } = useLocation();
  const supervises = user.supervisedTeams.length > 0 || user.role === 'admin';
  const current = (p: string) => (path === p || (p !== '/' && path.startsWith(p)) ? 'page' : undefined);
  return (
    <>
      <a className="skip" href="#main">
        {t('skip')}
      </a>
      <header className="topbar">
        <nav aria-label={t('mainNav')} className="topnav">
          <Link to="/" className="brand" aria-current={current('/')}>
            <img src="/icon.svg" alt="" width="28" height="28" />
            <span>{t('inbox')}</span>
          </Link>
          {supervises && (
            <Link to="/board" className="navlink" aria-current={current('/board')}>
              {t('board')}
            </Link>
          )}
        </nav>
        <div className="topbar-end">
          <span className={`live-dot ${stream}`} title={t(`stream.${stream}`)} aria-hidden="true" />
          <span className="sr-only">{t(`stream.${stream}`)}</span>
          <details className="usermenu">
            <summary aria-label={t('account', { name: user.name })}>
              <span className="avatar" aria-hidden="true">
                {user.name.slice(0, 1).toUpperCase()}
              </span>
              <span className="username">{user.name}</span>
            </summary>
            <div className="menu">
              <p className="muted small">{user.email}</p>
              <LanguagePicker onChange={setLanguage} />
              <Link to="/settings" className="button wide" aria-current={current('/settings')}>
                {t('settings')}
              </Link>
              <button type="button" className="button wide" onClick={() => void signOut()}>
                {t('signOut')}
              </button>
            </div>
          </details>
        </div>
      </header>
      {!online && (
        <div className="offline-banner" role="status">
          {t('offline')}
        </div>
      )}
      {children}
    </>
  );
}
