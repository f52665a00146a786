/**
 * Campaign target lists from spreadsheets: `.xlsx` (read with exceljs) or `.csv` (csv-parse), with a header row
 * naming the entity type (EN, CL or PR) and code columns. Rows are returned with their spreadsheet line numbers
 * so every problem can be reported where the user will look for it.
 */
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { InvalidInputError, TooLargeError } from '../lib/domain-errors';

export interface SheetRow {
  /** 1-based line in the sheet (the header is line 1). */
  line: number;
  type: string;
  code: string;
}

export const MAX_SHEET_ROWS = 100_000;

const TYPE_HEADERS = ['type', 'entity type', 'entitytype', 'entity_type', 'kind', 'tipo', 'tipo entidad'];
const CODE_HEADERS = ['code', 'entity code', 'entitycode', 'entity_code', 'código', 'codigo'];

function headerProblem(found: string[]): InvalidInputError {
  return new InvalidInputError(
    `The first row must name the columns "type" (EN, CL or PR) and "code"; found ${found.length ? found.map((h) => `"${h}"`).join(', ') : 'an empty row'}`,
    [{ pointer: '/body/rows/1', message: 'expected a header row with the columns "type" and "code"' }],
  );
}

/** Finds the type and code columns (0-based) of a header row; 400 when either is missing. */
function columnsOf(header: string[]): { type: number; code: number } {
  const norm = header.map((h) => h.trim().toLowerCase());
  const type = norm.findIndex((h) => TYPE_HEADERS.includes(h));
  const code = norm.findIndex((h) => CODE_HEADERS.includes(h));
  if (type < 0 || code < 0) throw headerProblem(header.filter((h) => h.trim() !== ''));
  return { type, code };
}

function tooMany(): TooLargeError {
  return new TooLargeError(
    'too-many-rows',
    'Too many rows',
    `A target list has at most ${MAX_SHEET_ROWS} rows`,
  );
}

/** Rows of the first worksheet of an .xlsx file. */
export async function readXlsx(content: Buffer): Promise<SheetRow[]> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(content as unknown as ArrayBuffer);
  } catch (err) {
    throw new InvalidInputError(`The file is not a readable .xlsx workbook: ${(err as Error).message}`, [
      { pointer: '/body', message: 'is not an .xlsx workbook' },
    ]);
  }
  const sheet = workbook.worksheets[0];
  if (!sheet || sheet.actualRowCount === 0) throw headerProblem([]);
  if (sheet.actualRowCount > MAX_SHEET_ROWS + 1) throw tooMany();
  const cellText = (row: ExcelJS.Row, col: number) => row.getCell(col + 1).text.trim();
  const headerRow = sheet.getRow(1);
  const header: string[] = [];
  for (let c = 1; c <= Math.max(headerRow.cellCount, 1); c++) header.push(headerRow.getCell(c).text);
  const cols = columnsOf(header);
  const rows: SheetRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, line) => {
    if (line === 1) return;
    const type = cellText(row, cols.type);
    const code = cellText(row, cols.code);
    if (type === '' && code === '') return;
    rows.push({ line, type, code });
  });
  return rows;
}

/** Rows of a CSV file (comma or semicolon separated, UTF-8, optional BOM). */
export function readCsv(content: string): SheetRow[] {
  const firstLine = content.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = firstLine.split(';').length > firstLine.split(',').length ? ';' : ',';
  let records: string[][];
  try {
    records = parse(content, {
      bom: true,
      delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
    }) as string[][];
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new InvalidInputError(`The CSV cannot be read: ${e.message}`, [
      { pointer: `/body/rows/${e.lines ?? 1}`, message: e.message },
    ]);
  }
  if (records.length > MAX_SHEET_ROWS + 1) throw tooMany();
  const cols = columnsOf(records[0] ?? []);
  const rows: SheetRow[] = [];
  records.slice(1).forEach((record, i) => {
    const type = (record[cols.type] ?? '').trim();
    const code = (record[cols.code] ?? '').trim();
    if (type === '' && code === '') return;
    rows.push({ line: i + 2, type, code });
  });
  return rows;
}
