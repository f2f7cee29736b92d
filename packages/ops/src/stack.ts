/**
 * Local file paths in a stack trace or error message, as Node prints them: absolute POSIX paths
 * (optionally `file://` URLs) and Windows drive paths, starting a word or after `(`, up to the
 * `:line:column` or the end of the word (so `https://…` and `node:internal/…` are left alone).
 */
const localPath = /(?<=^|[\s("'])(?:file:\/\/)?(?:\/(?:[^\s/():]+\/)+|[A-Za-z]:\\(?:[^\s\\():]+\\)+)([^\s/\\():]+)/g;

/** Where the part worth keeping starts: a dependency's package, else the repository's own folders. */
const keepFrom = [/^.*[/\\]node_modules[/\\](?:\.pnpm[/\\][^/\\]+[/\\]node_modules[/\\])?/, /^.*?[/\\](?=(?:apps|packages|infra)[/\\])/];

function shorten(path: string): string {
  const plain = path.replace(/^file:\/\//, '');
  for (const prefix of keepFrom) {
    const m = prefix.exec(plain);
    if (m) return plain.slice(m[0].length).replaceAll('\\', '/');
  }
  return plain.split(/[/\\]/).at(-1) ?? plain;
}

/**
 * `text` (a stack trace, an error message) with every local file path cut to what says something
 * without revealing the machine: `packages/sources/src/x.ts:12:3` for the repository's code,
 * `bullmq/dist/esm/classes/worker.js:5:1` for a dependency, the file name otherwise. Pure.
 */
export function stripLocalPaths(text: string): string {
  return text.replace(localPath, (match) => shorten(match));
}
