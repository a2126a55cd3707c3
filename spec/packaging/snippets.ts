import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A fenced code block of a Markdown file, with the `<!-- snippet: … -->` markers right above it. */
export interface Snippet {
  /** `README.md:27`: where its fence opens. */
  where: string;
  /** A file name for it: `README-27`. */
  id: string;
  lang: string;
  code: string;
  /** `name usage`, `after usage`, `run`, `curl`, `skip <reason>`. */
  markers: string[];
}

const FENCE = /^```(\w*)\s*$/;
const MARKER = /^<!-- snippet: (.+?) -->$/;

export function snippetsOf(file: string, root: string): Snippet[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const markers: string[] = [];
    for (let j = i - 1; j >= 0; j--) {
      const marker = MARKER.exec(lines[j]!.trim());
      if (!marker) break;
      markers.unshift(marker[1]!);
    }
    const base = path.basename(file, '.md');
    snippets.push({ where: `${file}:${i + 1}`, id: `${base}-${i + 1}`, lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), markers });
    i = end;
  }
  return snippets;
}

/** The value of a marker such as `after usage`, or undefined. */
export function marker(snippet: Snippet, key: string): string | undefined {
  const found = snippet.markers.find((entry) => entry === key || entry.startsWith(`${key} `));
  return found === undefined ? undefined : found.slice(key.length).trim();
}
