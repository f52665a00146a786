import { useTranslation } from 'react-i18next';
import { Link } from '../app/router';
import { useSession } from '../session/session';
import type { CaseDetail } from './queries';

/** What a case is at a glance: title, status, entity and amount. */
export function CaseHeader({ kase, link = true }: { kase: CaseDetail; link?: boolean }) {
  const { t } = useTranslation('cases');
  const { format } = useSession();
  const amount = typeof kase.data.amount === 'number' ? kase.data.amount : null;
  const currency = typeof kase.data.currency === 'string' ? kase.data.currency : 'EUR';
  return (
    <section className="card case-header" aria-label={t('case')}>
      <div className="case-title">
        {link ? <Link to={`/cases/${kase.id}`}>{kase.title}</Link> : <strong>{kase.title}</strong>}
      </div>
      <dl className="facts">
        <div>
          <dt>{t('status')}</dt>
          <dd>
            <span className={`chip cat-${kase.statusCategory}`}>{kase.statusName}</span>
          </dd>
        </div>
        {kase.entity && (
          <div>
            <dt>{t('entity')}</dt>
            <dd>{kase.entity.name ?? kase.entity.id}</dd>
          </div>
        )}
        {amount !== null && (
          <div>
            <dt>{t('amount')}</dt>
            <dd>{format.money(amount, currency)}</dd>
          </div>
        )}
        {kase.probability !== null && (
          <div>
            <dt>{t('probability')}</dt>
            <dd>{format.number(kase.probability)} %</dd>
          </div>
        )}
      </dl>
    </section>
  );
}
