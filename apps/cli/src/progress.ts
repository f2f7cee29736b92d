/** A one-line progress bar on stderr: redrawn in place on a terminal, one line per 10% otherwise. */
export function createProgressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let lastDecile = -1;
  let lastDraw = 0;
  const width = 30;
  return {
    update(done: number, total: number) {
      const ratio = total > 0 ? Math.min(done / total, 1) : 1;
      const pct = Math.floor(ratio * 100);
      const text = `${label} [${'#'.repeat(Math.round(ratio * width)).padEnd(width, '-')}] ${String(pct).padStart(3)}% ${done}/${total}`;
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 50 && done < total) return;
        lastDraw = now;
        stream.write(`\r${text}`);
      } else if (Math.floor(pct / 10) !== lastDecile) {
        lastDecile = Math.floor(pct / 10);
        stream.write(`${text}\n`);
      }
    },
    finish() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
