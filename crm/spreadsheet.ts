/**
 * Spreadsheets: campaign target lists (`.xlsx` read with exceljs or `.csv` with csv-parse, a header row naming
 * the entity type (EN, CL or PR) and code columns), the cells of a case-import sheet, and numbers written with
 * either decimal mark. Rows carry their spreadsheet line numbers so every problem can be reported where the
 * user will look for it.
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
  const delimiter = csvDelimiter(content);
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

/** The decimal mark of numbers written as text: `,` (1.234,5, Spanish) or `.` (1,234.5, English). */
export type DecimalMark = ',' | '.';

/** Languages whose numbers use a decimal comma (the default mark for a user with that locale). */
const COMMA_LOCALES = new Set(['es', 'ca', 'gl', 'eu', 'fr', 'de', 'it', 'pt', 'nl', 'da', 'fi', 'sv', 'nb']);

/** The decimal mark of a locale such as `es`, `es-ES` or `en`: `,` for the languages that write 1.234,5. */
export function decimalMarkOf(locale: string | null | undefined): DecimalMark {
  const language = (locale ?? '').toLowerCase().split(/[-_]/, 1)[0] ?? '';
  return COMMA_LOCALES.has(language) ? ',' : '.';
}

const NUMBER_FORMS: Record<DecimalMark, RegExp> = {
  ',': /^([+-]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$/,
  '.': /^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/,
};

/**
 * Reads a number written as text under one decimal mark, or null when it is not one. With `,` the
 * thousands (if grouped) are separated by `.` and the decimals by `,`: `1.234,5` and `1234,5` are 1234.5 and
 * `1.234` is 1234. With `.` it is the other way round: `1,234.5` is 1234.5 and `1.234` is 1.234. Spaces
 * (also non-breaking) between digit groups are ignored. Anything else (both marks in the wrong roles, groups
 * not of three, letters) is null: the caller reports it, a wrong number is never guessed.
 */
export function parseDecimal(text: string, mark: DecimalMark): number | null {
  const compact = text.trim().replace(/(?<=\d)[ \u00a0\u202f](?=\d{3}(?:\D|$))/g, '');
  const m = NUMBER_FORMS[mark].exec(compact);
  if (!m) return null;
  const [, sign, whole, fraction] = m as unknown as [string, string, string, string | undefined];
  const n = Number(`${sign}${whole.replace(/[.,]/g, '')}${fraction !== undefined ? `.${fraction}` : ''}`);
  return Number.isFinite(n) ? n : null;
}

/** A cell of an import sheet: text, or a number stored as a number (an .xlsx number cell). */
export type SheetCell = string | number;

/**
 * The cells of the first worksheet of an .xlsx file, row by row (the header is row 1; empty rows are kept as
 * empty so line numbers match the sheet). Number cells stay numbers (no decimal mark to read); formula cells
 * give their result; a date cell gives `YYYY-MM-DD` (its ISO instant when it has a time), a boolean `true` or
 * `false`; every other cell gives its text.
 */
export async function readXlsxCells(content: Buffer, maxRows: number): Promise<SheetCell[][]> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(content as unknown as ArrayBuffer);
  } catch (err) {
    throw new InvalidInputError(`The file is not a readable .xlsx workbook: ${(err as Error).message}`, [
      { pointer: '/body', message: 'is not an .xlsx workbook' },
    ]);
  }
  const sheet = workbook.worksheets[0];
  if (!sheet || sheet.actualRowCount === 0)
    throw new InvalidInputError('The workbook has no rows', [
      { pointer: '/body/rows/1', message: 'is empty' },
    ]);
  if (sheet.rowCount > maxRows + 1)
    throw new TooLargeError('too-many-rows', 'Too many rows', `A sheet has at most ${maxRows} rows`);
  const width = sheet.getRow(1).cellCount;
  const rows: SheetCell[][] = [];
  for (let line = 1; line <= sheet.rowCount; line++) {
    const row = sheet.getRow(line);
    const cells: SheetCell[] = [];
    for (let col = 1; col <= Math.max(width, row.cellCount); col++) {
      const cell = row.getCell(col);
      const value =
        cell.value !== null && typeof cell.value === 'object' && 'result' in cell.value
          ? cell.value.result
          : cell.value;
      cells.push(
        typeof value === 'number'
          ? value
          : typeof value === 'boolean'
            ? String(value)
            : value instanceof Date
              ? isoOfCell(value)
              : cell.text,
      );
    }
    rows.push(cells);
  }
  return rows;
}

/** A date cell as text: `YYYY-MM-DD` for a day (midnight UTC, as exceljs reads one), else the full ISO instant. */
function isoOfCell(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** The delimiter of a CSV file: `;` when its first line has more semicolons than commas, else `,`. */
export function csvDelimiter(content: string): ',' | ';' {
  const firstLine = content.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return firstLine.split(';').length > firstLine.split(',').length ? ';' : ',';
}
