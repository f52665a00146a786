import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

/** A failed call as a readable message: the problem's detail, or "no connection". */
export function ProblemBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation('app');
  const text =
    error instanceof ApiError
      ? error.status === 0
        ? t('networkError')
        : (error.problem.detail ?? error.problem.title)
      : String(error);
  return (
    <div className="problem" role="alert">
      <span>{text}</span>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}
