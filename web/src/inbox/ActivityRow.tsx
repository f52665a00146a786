import { useTranslation } from 'react-i18next';
import type { InboxActivity } from '../api/types';
import { useSession } from '../session/session';

interface Props {
  activity: InboxActivity;
  busy: boolean;
  onDone(): void;
}

/** One scheduled activity of the inbox: what (a call, a visit...), with whom, when, for whom, and "done". */
export function ActivityRow({ activity, busy, onDone }: Props) {
  const { t } = useTranslation('inbox');
  const { user, format } = useSession();
  const kind = t(`activity.${activity.activityKind}`);
  const title = activity.subject ?? activity.entity.name;
  const titleId = `activity-title-${activity.id}`;
  const today = format.day(activity.scheduledAt) === format.day(new Date().toISOString());
  return (
    <li
      className={`inbox-row activity-row${activity.ownerId === user.id ? ' mine' : ''}`}
      aria-labelledby={titleId}
      data-activity-id={activity.id}
      data-testid="activity-row"
    >
      <div className="row-main">
        <span className="row-title" id={titleId}>
          <span className={`chip kind-chip kind-${activity.activityKind}`}>{kind}</span> {title}
        </span>
        <div className="row-meta">
          {activity.subject && <span className="entity">{activity.entity.name}</span>}
          {activity.notes && <span className="notes">{activity.notes}</span>}
        </div>
        <div className="chips">
          <span
            className={`chip${activity.overdue ? ' overdue' : today ? ' due-today' : ''}`}
            title={format.dateTime(activity.scheduledAt)}
            data-testid="planned"
          >
            {activity.overdue
              ? `${t('overdue')} · ${format.relative(activity.scheduledAt)}`
              : t('planned', {
                  when: today ? format.time(activity.scheduledAt) : format.dateTime(activity.scheduledAt),
                })}
          </span>
          {activity.durationMinutes !== null && (
            <span className="chip">{t('minutes', { count: activity.durationMinutes })}</span>
          )}
          {activity.ownerId === user.id ? (
            <span className="chip mine-chip" data-testid="owner">
              {t('mine')}
            </span>
          ) : (
            <span className="chip team-chip" data-testid="owner">
              {activity.ownerTeam
                ? t('forTeam', { team: activity.ownerTeam })
                : t('assignedTo', { name: activity.ownerId ?? '—' })}
            </span>
          )}
        </div>
      </div>
      <div className="row-actions">
        <button type="button" className="button" onClick={onDone} disabled={busy}>
          {t('markDone')}
          <span className="sr-only">
            {' '}
            {kind} {title}
          </span>
        </button>
      </div>
    </li>
  );
}
