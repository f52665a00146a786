import { forwardRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from '../app/router';
import type { InboxItem } from '../api/types';
import { useSession } from '../session/session';
import { DueChip } from '../shared/DueChip';
import { Icon } from '../shared/Icon';

interface Props {
  item: InboxItem;
  busy: boolean;
  onClaim(): void;
  onUnclaim(): void;
  onFocus(): void;
}

/** One task of the inbox: what it is, for whom, when it is due, and claim/unclaim/open in one tap. */
export const InboxRow = forwardRef<HTMLLIElement, Props>(function InboxRow(
  { item, busy, onClaim, onUnclaim, onFocus },
  ref,
) {
  const { t } = useTranslation('inbox');
  const { t: tApp } = useTranslation('app');
  const { user } = useSession();
  const mine = item.assignee === user.id;
  const open = item.status === 'open';
  const titleId = `task-title-${item.id}`;
  return (
    <li
      ref={ref}
      className={`inbox-row priority-${item.priority}${mine ? ' mine' : ''}`}
      tabIndex={-1}
      onFocus={onFocus}
      aria-labelledby={titleId}
      data-task-id={item.id}
      data-testid="inbox-row"
    >
      <div className="row-main">
        <Link to={`/tasks/${item.id}`} className="row-title" id={titleId}>
          {item.title}
        </Link>
        <div className="row-meta">
          {/* The case title usually names the customer; the customer alone only when it does not. */}
          {item.entityName && !item.case?.title.includes(item.entityName) && (
            <span className="entity">{item.entityName}</span>
          )}
          {item.case && <span className="case-ref">{item.case.title}</span>}
        </div>
        <div className="chips">
          <DueChip dueAt={item.dueAt ?? null} overdue={item.overdue === true} open={open} />
          {item.priority !== 'normal' && (
            <span className={`chip prio-${item.priority}`}>{tApp(`priority.${item.priority}`)}</span>
          )}
          {mine ? (
            <span className="chip mine-chip" data-testid="assignee">
              {t('mine')}
            </span>
          ) : item.assignee ? (
            <span className="chip" data-testid="assignee">
              {t('assignedTo', { name: item.assignee })}
            </span>
          ) : (
            <span className="chip team-chip" data-testid="assignee">
              {t('forTeam', { team: (item.candidateTeams ?? []).join(', ') || '—' })}
            </span>
          )}
          {(item.commentCount ?? 0) > 0 && (
            <span className="chip">
              <Icon name="comment" /> {t('comments', { count: item.commentCount })}
            </span>
          )}
        </div>
      </div>
      <div className="row-actions">
        {open && !item.assignee && (
          <button type="button" className="button primary" onClick={onClaim} disabled={busy}>
            {t('claim')}
            <span className="sr-only"> {item.title}</span>
          </button>
        )}
        {open && mine && (
          <button type="button" className="button" onClick={onUnclaim} disabled={busy}>
            {t('unclaim')}
            <span className="sr-only"> {item.title}</span>
          </button>
        )}
        <Link to={`/tasks/${item.id}`} className="button ghost" tabIndex={-1} aria-hidden="true">
          {t('open')}
        </Link>
      </div>
    </li>
  );
});
