import { compileSegment, segmentErrors, type SegmentFilter } from './segments';

describe('segment compiler', () => {
  it('puts every value in parameters, never in the SQL text', () => {
    const evil = "x'); DROP TABLE entities; --";
    const filter: SegmentFilter = {
      all: [
        { field: 'sector', op: 'eq', value: evil },
        { field: 'name', op: 'contains', value: evil },
        { field: 'custom.tier', op: 'eq', value: evil },
        { field: 'custom.tags', op: 'hasAny', value: [evil] },
        { hasCases: { caseType: evil, status: evil } },
        { actionsDone: { action: evil, minCount: 2 } },
        { wonAmount: { op: 'gte', value: 10, caseType: evil } },
      ],
    };
    expect(segmentErrors(filter, '/filter')).toEqual([]);
    const params: unknown[] = [];
    const sql = compileSegment(filter, params);
    expect(sql).not.toContain('DROP');
    expect(params).toContain(evil);
    expect(sql.match(/\$\d+/g)?.length).toBeGreaterThanOrEqual(params.length);
  });

  it('escapes LIKE wildcards in contains and startsWith', () => {
    const params: unknown[] = [];
    compileSegment({ field: 'name', op: 'startsWith', value: '50%_off' }, params);
    expect(params).toEqual(['50\\%\\_off']);
  });

  it('uses JSON containment (GIN) for equality on custom fields, nested included', () => {
    const params: unknown[] = [];
    const sql = compileSegment({ field: 'custom.billing.paymentTerms', op: 'eq', value: 'net30' }, params);
    expect(sql).toBe('e.custom @> $1::jsonb');
    expect(JSON.parse(params[0] as string)).toEqual({ billing: { paymentTerms: 'net30' } });
  });

  it('locates unknown fields, misfit operators and wrong values', () => {
    expect(
      segmentErrors(
        {
          any: [
            { field: 'nope', op: 'eq', value: 1 },
            { not: { field: 'custom.employees', op: 'contains', value: 'x' } },
            { field: 'createdAt', op: 'gte', value: '2020/01/01' },
            { field: 'zone', op: 'in', value: [] },
          ],
        },
        '/f',
      ).map((e) => e.pointer),
    ).toEqual(['/f/any/0/field', '/f/any/1/not/op', '/f/any/2/value', '/f/any/3/value']);
  });
});
