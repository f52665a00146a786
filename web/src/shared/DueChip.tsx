import { useTranslation } from 'react-i18next';
import { useSession } from '../session/session';

/** Due date as a person reads it: overdue, due today (in their time zone) or when. */
export function DueChip({ dueAt, overdue, open }: { dueAt: string | null; overdue: boolean; open: boolean }) {
  const { t } = useTranslation('inbox');
  const { format } = useSession();
  if (!dueAt) return null;
  const when = format.relative(dueAt);
  const title = format.dateTime(dueAt);
  if (open && overdue)
    return (
      <span className="chip overdue" title={title} data-testid="due">
        {t('overdue')} · {when}
      </span>
    );
  if (open && format.day(dueAt) === format.day(new Date().toISOString()))
    return (
      <span className="chip due-today" title={title} data-testid="due">
        {t('dueToday')} · {format.time(dueAt)}
      </span>
    );
  return (
    <span className="chip" title={title} data-testid="due">
      {t('due', { when })}
    </span>
  );
}
