/**
 * The exchange-rate table administrators maintain (migration 065): dated rates, 1 `from` = `rate` `to` from
 * `validFrom` until the pair's next rate. Reports convert only with these rates, never with a guess.
 */
import type { Queryable } from '../db';
import { InvalidInputError } from '../lib/domain-errors';

export interface ExchangeRate {
  from: string;
  to: string;
  validFrom: string;
  rate: number;
  updatedBy: string | null;
  updatedAt: string;
}

type Row = {
  from_currency: string;
  to_currency: string;
  valid_from: string;
  rate: string;
  updated_by: string | null;
  updated_at: Date | string;
};

const COLUMNS = `from_currency, to_currency, to_char(valid_from, 'YYYY-MM-DD') AS valid_from, rate, updated_by, updated_at`;

function view(r: Row): ExchangeRate {
  return {
    from: r.from_currency,
    to: r.to_currency,
    validFrom: r.valid_from,
    rate: Number(r.rate),
    updatedBy: r.updated_by,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Rates, newest first per pair; optionally of one source or target currency. */
export async function listRates(
  db: Queryable,
  filter: { from?: string; to?: string },
): Promise<ExchangeRate[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM exchange_rates
     WHERE ($1::text IS NULL OR from_currency = $1) AND ($2::text IS NULL OR to_currency = $2)
     ORDER BY from_currency, to_currency, valid_from DESC LIMIT 10000`,
    [filter.from ?? null, filter.to ?? null],
  );
  return rows.map(view);
}

/** Sets the rate of a pair from a date (creating or replacing it). */
export async function putRate(
  db: Queryable,
  rate: { from: string; to: string; validFrom: string; rate: number },
  userId: string,
): Promise<ExchangeRate> {
  if (rate.from === rate.to)
    throw new InvalidInputError('A rate converts between two different currencies', [
      { pointer: '/path/to', message: 'must differ from the source currency' },
    ]);
  const [row] = await db.query<Row>(
    `INSERT INTO exchange_rates (from_currency, to_currency, valid_from, rate, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (from_currency, to_currency, valid_from)
     DO UPDATE SET rate = EXCLUDED.rate, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING ${COLUMNS}`,
    [rate.from, rate.to, rate.validFrom, rate.rate, userId],
  );
  return view(row as Row);
}

/** Removes one dated rate; false when there was none. */
export async function deleteRate(
  db: Queryable,
  key: { from: string; to: string; validFrom: string },
): Promise<boolean> {
  const rows = await db.query(
    `DELETE FROM exchange_rates WHERE from_currency = $1 AND to_currency = $2 AND valid_from = $3 RETURNING 1`,
    [key.from, key.to, key.validFrom],
  );
  return rows.length > 0;
}

/** The rate a conversion used. */
export interface AppliedRate {
  from: string;
  to: string;
  rate: number;
  validFrom: string;
}

/**
 * The rate of each currency into `target` valid on `day` (the latest with validFrom <= day), and the currencies
 * that have none. Never guesses or inverts a rate.
 */
export async function findRates(
  db: Queryable,
  currencies: string[],
  target: string,
  day: string,
): Promise<{ rates: Map<string, AppliedRate>; missing: string[] }> {
  const sources = [...new Set(currencies)].filter((c) => c !== target).sort();
  const rates = new Map<string, AppliedRate>();
  if (sources.length === 0) return { rates, missing: [] };
  const rows = await db.query<{ from_currency: string; rate: string; valid_from: string }>(
    `SELECT s.c AS from_currency, r.rate, r.valid_from
     FROM unnest($1::text[]) s(c)
     CROSS JOIN LATERAL (
       SELECT rate, to_char(valid_from, 'YYYY-MM-DD') AS valid_from FROM exchange_rates
       WHERE from_currency = s.c AND to_currency = $2 AND valid_from <= $3::date
       ORDER BY valid_from DESC LIMIT 1) r`,
    [sources, target, day],
  );
  for (const r of rows)
    rates.set(r.from_currency, {
      from: r.from_currency,
      to: target,
      rate: Number(r.rate),
      validFrom: r.valid_from,
    });
  return { rates, missing: sources.filter((c) => !rates.has(c)) };
}

/**
 * The rate of each currency into `target` valid on `day` (`findRates`). A currency without one is a 400
 * `no-exchange-rate` at `pointer`, naming every missing pair.
 */
export async function ratesInto(
  db: Queryable,
  currencies: string[],
  target: string,
  day: string,
  pointer: string,
): Promise<Map<string, AppliedRate>> {
  const { rates, missing } = await findRates(db, currencies, target, day);
  if (missing.length > 0)
    throw new InvalidInputError(
      `No exchange rate into ${target} valid on ${day} for ${missing.join(', ')}; an administrator adds one with PUT /api/exchange-rates/{from}/{to}/{validFrom}`,
      missing.map((c) => ({ pointer, message: `no rate from ${c} into ${target} on ${day}` })),
      {
        code: 'no-exchange-rate',
        title: 'No exchange rate',
        context: { missing: missing.map((c) => ({ from: c, to: target, on: day })) },
      },
    );
  return rates;
}
