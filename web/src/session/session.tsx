import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, call, setCsrfToken, setUnauthorizedHandler, ApiError } from '../api/client';
import type { Session, SessionUser } from '../api/types';
import { browserTimeZone, createFormatter, type Formatter } from '../shared/format';
import { preferredLanguage, type Language } from '../i18n';

interface SessionContextValue {
  user: SessionUser;
  format: Formatter;
  timeZone: string;
  signOut(): Promise<void>;
  setLanguage(lng: Language): void;
  /** Saves the person's time zone (null: follow the device); dates re-render in it once saved. */
  setTimeZone(zone: string | null): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export const SESSION_KEY = ['session'] as const;

/** Reads the session once; null when signed out. */
export function useSessionQuery() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async (): Promise<Session | null> => {
      try {
        return await call(api.GET('/api/session'));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: Infinity,
    retry: false,
  });
}

/** Signs in; the session goes into the cache and the CSRF token into the client. */
export async function signIn(email: string, password: string): Promise<Session> {
  return call(api.POST('/api/session', { body: { email, password } }));
}

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  const queryClient = useQueryClient();
  const { i18n } = useTranslation();
  setCsrfToken(session.csrfToken);
  const user = session.user;

  useEffect(() => {
    // The user's saved language wins over this device's last choice.
    const lng = preferredLanguage(user.locale ?? localStorage.getItem('crm.language'));
    if (i18n.language !== lng) void i18n.changeLanguage(lng);
  }, [user.locale, i18n]);

  useEffect(() => {
    setUnauthorizedHandler(() => queryClient.setQueryData(SESSION_KEY, null));
  }, [queryClient]);

  const timeZone = user.timeZone ?? browserTimeZone();
  // Intl gets the browser's regional variant of the chosen language (en-GB dates for a British browser).
  const intlLocale = navigator.languages.find((l) => l.split('-')[0] === i18n.language) ?? i18n.language;
  const format = useMemo(() => createFormatter(intlLocale, timeZone), [intlLocale, timeZone]);

  const signOut = useCallback(async () => {
    try {
      await call(api.DELETE('/api/session'));
    } finally {
      setCsrfToken(null);
      navigator.serviceWorker?.controller?.postMessage('clear-data');
      // The session query's observer stays subscribed (clear() would orphan it); every other query goes.
      queryClient.setQueryData(SESSION_KEY, null);
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    }
  }, [queryClient]);

  // The choice is the user's (PATCH /api/users/me, so every device and their emails follow it).
  const setLanguage = useCallback(
    (lng: Language) => {
      localStorage.setItem('crm.language', lng);
      void i18n.changeLanguage(lng);
      void call(api.PATCH('/api/users/me', { body: { locale: lng } }))
        .then((saved) =>
          queryClient.setQueryData<Session | null>(SESSION_KEY, (old) =>
            old ? { ...old, user: saved as SessionUser } : old,
          ),
        )
        .catch(() => {
          /* kept on this device; saved with the next change */
        });
    },
    [i18n, queryClient],
  );

  const setTimeZone = useCallback(
    async (zone: string | null) => {
      const saved = await call(api.PATCH('/api/users/me', { body: { timeZone: zone } }));
      queryClient.setQueryData<Session | null>(SESSION_KEY, (old) => (old ? { ...old, user: saved } : old));
    },
    [queryClient],
  );

  const value = useMemo(
    () => ({ user, format, timeZone, signOut, setLanguage, setTimeZone }),
    [user, format, timeZone, signOut, setLanguage, setTimeZone],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
