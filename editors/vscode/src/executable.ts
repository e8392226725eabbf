// Where the server executable is, checked before the client starts it: a missing executable
// otherwise surfaces as an opaque "spawn ENOENT" several seconds later.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** `~/x` → the home directory's `x`; other paths unchanged. */
export function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path `command` runs: itself when it is a path, else the first match on PATH. */
export function findExecutable(command: string, cwd: string = process.cwd()): string | undefined {
  const expanded = expandHome(command.trim());
  if (expanded === '') {
    return undefined;
  }
  const suffixes = process.platform === 'win32'
    ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')]
    : [''];
  const candidates = expanded.includes('/') || expanded.includes(path.sep)
    ? [path.resolve(cwd, expanded)]
    : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
      .map((dir) => path.join(dir, expanded));
  for (const candidate of candidates) {
    const found = suffixes.map((s) => candidate + s).find(isExecutableFile);
    if (found) {
      return found;
    }
  }
  return undefined;
}
