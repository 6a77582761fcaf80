/**
 * How the demo talks to its reader: numbered section titles, a short explanation, tables and result
 * lines, all plain text on one writable stream. Sections are separated by a blank line so that a
 * reader (or a test) can find each by its `N. ` title.
 */
import type { Column } from './table.js';
import { renderTable } from './table.js';

export class Report {
  readonly #out: NodeJS.WritableStream;
  #section = 0;
  /** A table was the last thing written: the next lines need a blank line before them. */
  #afterTable = false;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  /** The demo's title, once, at the top. */
  banner(text: string): void {
    this.#write(`${text}\n${'='.repeat(text.length)}\n`);
  }

  /** Starts the next numbered section. */
  section(title: string): void {
    const heading = `${++this.#section}. ${title}`;
    this.#afterTable = false;
    this.#write(`\n${heading}\n${'-'.repeat(heading.length)}\n`);
  }

  /** Explanation or result lines, each indented; an empty string is a blank line. */
  say(...lines: string[]): void {
    this.#write((this.#afterTable ? '\n' : '') + lines.map((l) => (l === '' ? '\n' : `   ${l}\n`)).join(''));
    this.#afterTable = false;
  }

  table(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
    this.#write('\n' + renderTable(columns, rows, '     '));
    this.#afterTable = true;
  }

  /** Unindented text, for what is not part of a section (the serve banner). */
  raw(text: string): void {
    this.#write(text);
    this.#afterTable = false;
  }

  #write(text: string): void {
    this.#out.write(text);
  }
}
