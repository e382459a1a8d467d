/** Where a command writes: its result on stdout (JSON with --json), progress and notes on stderr. */
export interface Context {
  json: boolean;
  /** Human-readable progress and notes: stderr, silenced by --json. */
  log: (line: string) => void;
  /** The result: JSON on stdout with --json, else text. */
  out: (text: string, json?: unknown) => void;
}

export function createContext(json: boolean): Context {
  return {
    json,
    log: (line) => {
      if (!json) process.stderr.write(line + '\n');
    },
    out: (text, value) => {
      if (json) process.stdout.write(JSON.stringify(value ?? text) + '\n');
      else process.stdout.write(text + '\n');
    },
  };
}
