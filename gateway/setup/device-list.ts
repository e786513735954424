/**
 * A device list as installers keep it: a CSV file (UTF-8, with or without BOM, comma or
 * semicolon separated) or an Excel workbook (.xlsx, first sheet). The first row names the
 * columns; every other row is a device. Rows are numbered as the spreadsheet shows them
 * (header = row 1), so a problem report points at the row the installer sees.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';

/** The columns of a device list; other columns are ignored. Header names are matched without case. */
export const COLUMNS = ['id', 'family', 'building', 'zone', 'address', 'model', 'line', 'name'] as const;
export type Column = (typeof COLUMNS)[number];

/** Other header names installers use for a column (Chinese sheets included). */
const ALIASES: Readonly<Record<string, Column>> = {
  unit: 'address',
  unitid: 'address',
  deveui: 'address',
  设备编号: 'id',
  编号: 'id',
  类型: 'family',
  设备类型: 'family',
  楼栋: 'building',
  区域: 'zone',
  地址: 'address',
  型号: 'model',
  线路: 'line',
  名称: 'name',
};

export interface ListRow {
  /** The row number in the spreadsheet (header = 1). */
  row: number;
  cells: Partial<Record<Column, string>>;
}

export interface DeviceList {
  rows: ListRow[];
  /** Header problems (a required column missing); rows are empty then. */
  problems: string[];
}

const REQUIRED: readonly Column[] = ['id', 'family', 'building', 'line'];

export async function readDeviceList(file: string): Promise<DeviceList> {
  const ext = extname(file).toLowerCase();
  let table: string[][];
  if (ext === '.xlsx') {
    const data = await readSheet(file);
    table = data.map((r) => r.map(cellText));
  } else if (ext === '.csv' || ext === '.txt') {
    const text = readFileSync(file, 'utf8');
    const firstLine = text.slice(0, text.indexOf('\n') >>> 0);
    const delimiter = firstLine.split(';').length > firstLine.split(',').length ? ';' : ',';
    table = parse(text, { bom: true, delimiter, relax_column_count: true, skip_empty_lines: false }) as string[][];
  } else {
    throw new Error(`${file}: a device list is a .csv or .xlsx file, not "${ext || 'no extension'}"`);
  }
  return fromTable(table);
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export function fromTable(table: readonly (readonly string[])[]): DeviceList {
  const header = (table[0] ?? []).map((h) => {
    const key = h.trim().toLowerCase().replace(/[\s_/-]/g, '');
    return (COLUMNS as readonly string[]).includes(key) ? (key as Column) : ALIASES[key];
  });
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) {
    return {
      rows: [],
      problems: [
        `row 1: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the header row names the columns: ${COLUMNS.join(', ')})`,
      ],
    };
  }
  const rows: ListRow[] = [];
  table.slice(1).forEach((cells, i) => {
    if (cells.every((c) => c.trim() === '')) return; // an empty row
    const row: ListRow = { row: i + 2, cells: {} };
    header.forEach((col, j) => {
      const v = cells[j]?.trim();
      if (col && v) row.cells[col] = v;
    });
    rows.push(row);
  });
  return { rows, problems: [] };
}
