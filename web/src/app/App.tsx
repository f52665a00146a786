import { lazy, Suspense, useState } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { RouterProvider, useLocation, match } from './router';
import { SessionProvider, useSessionQuery } from '../session/session';
import { SignInPage } from '../session/SignInPage';
import { ForgotPasswordPage, SetPasswordPage } from '../session/PasswordPages';
import { InboxPage } from '../inbox/InboxPage';
import { Shell } from './Shell';
import { ApiError } from '../api/client';

// The inbox ships in the first bundle; the other screens load when first opened.
const TaskPage = lazy(() => import('../tasks/TaskPage'));
const CasePage = lazy(() => import('../cases/CasePage'));
const BoardPage = lazy(() => import('../board/BoardPage'));
const SettingsPage = lazy(() => import('../settings/SettingsPage'));

function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status > 0 && err.status < 500),
        networkMode: 'always',
      },
      mutations: { networkMode: 'always' },
    },
  });
}

function Routes() {
  const { path } = useLocation();
  const { t } = useTranslation();
  let params: Record<string, string> | null;
  if ((params = match('/tasks/:id', path))) return <TaskPage id={params.id as string} />;
  if ((params = match('/cases/:id', path))) return <CasePage id={params.id as string} />;
  if ((params = match('/board', path))) return <BoardPage />;
  if ((params = match('/board/:team', path))) return <BoardPage team={params.team} />;
  if (path === '/settings') return <SettingsPage />;
  if (path === '/' || path === '/inbox') return <InboxPage />;
  return (
    <main id="main" className="page">
      <h1>{t('notFound')}</h1>
    </main>
  );
}

function Gate() {
  const session = useSessionQuery();
  const { t } = useTranslation();
  const { path } = useLocation();
  // Reached from an email link, signed in or not.
  if (path === '/set-password') return <SetPasswordPage />;
  if (session.isPending)
    return (
      <p className="loading" role="status">
        {t('loading')}
      </p>
    );
  if (!session.data) return path === '/forgot-password' ? <ForgotPasswordPage /> : <SignInPage />;
  return (
    <SessionProvider session={session.data}>
      <Shell>
        <Suspense
          fallback={
            <p className="loading" role="status">
              {t('loading')}
            </p>
          }
        >
          <Routes />
        </Suspense>
      </Shell>
    </SessionProvider>
  );
}

export function App() {
  const [queryClient] = useState(newQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider>
        <Gate />
      </RouterProvider>
    </QueryClientProvider>
  );
}
