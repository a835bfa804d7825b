import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/evidence/git.ts
import { spawn } from "node:child_process";
var GitError = class extends Error {
  args;
  code;
  stderr;
  constructor(message, args, code, stderr) {
    super(message);
    this.name = "GitError";
    this.args = args;
    this.code = code;
    this.stderr = stderr;
  }
};
var SECRET_VARIABLE = /^(RESTORABLE_(?!GIT$).+|INPUT_.+|GITHUB_TOKEN|ACTIONS_RUNTIME_TOKEN|ACTIONS_ID_TOKEN_REQUEST_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)$/;
function gitProgram(env) {
  return env.RESTORABLE_GIT || "git";
}
function redact(text, secrets) {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}
var Git = class _Git {
  /** The directory git runs in (a work tree or a bare repository). */
  cwd;
  env;
  secrets;
  constructor(cwd, env = process.env, secrets = []) {
    this.cwd = cwd;
    const rest = Object.fromEntries(
      Object.entries(env).filter(([name]) => name !== "GIT_INDEX_FILE" && !SECRET_VARIABLE.test(name))
    );
    this.env = { ...rest, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", LANGUAGE: "C" };
    this.secrets = secrets;
  }
  /** The same repository with more environment (e.g. credentials), keeping the secrets to redact. */
  with(env, secrets = []) {
    return new _Git(this.cwd, { ...this.env, ...env }, [...this.secrets, ...secrets]);
  }
  /** Runs git; throws GitError (stderr included, secrets redacted) on an exit code not in `ok`. */
  run(args, options = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(gitProgram(this.env), args, {
        cwd: this.cwd,
        env: options.env ? { ...this.env, ...options.env } : this.env,
        stdio: ["pipe", "pipe", "pipe"]
      });
      const out = [];
      const err = [];
      child.stdout.on("data", (chunk) => out.push(chunk));
      child.stderr.on("data", (chunk) => err.push(chunk));
      child.stdin.on("error", () => {
      });
      child.on("error", (error) => {
        reject(
          new GitError(`cannot run git (${error.message}); is git installed and on PATH?`, args, null, "")
        );
      });
      child.on("close", (code, signal) => {
        const stderr = redact(Buffer.concat(err).toString("utf8"), this.secrets);
        const status = code ?? -1;
        if ((options.ok ?? [0]).includes(status)) {
          resolve({ code: status, stdout: Buffer.concat(out), stderr });
          return;
        }
        const what = redact(`git ${args.slice(0, 3).join(" ")}${args.length > 3 ? " \u2026" : ""}`, this.secrets);
        const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
        const detail = stderr.trim() ? `: ${stderr.trim().split("\n").slice(-6).join(" | ")}` : "";
        reject(new GitError(`${what} in ${this.cwd} ${why}${detail}`, args, code, stderr));
      });
      if (options.input !== void 0) child.stdin.end(options.input);
      else child.stdin.end();
    });
  }
  /** stdout as text, without the final newline. */
  async text(args, options = {}) {
    return (await this.run(args, options)).stdout.toString("utf8").replace(/\n$/, "");
  }
  /** The object a revision names, or undefined when it names none. */
  async resolve(revision) {
    const result = await this.run(["rev-parse", "--verify", "--quiet", "--end-of-options", revision], {
      ok: [0, 1, 128]
    });
    return result.code === 0 ? result.stdout.toString("utf8").trim() : void 0;
  }
  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  async isAncestor(ancestor, descendant) {
    const result = await this.run(["merge-base", "--is-ancestor", ancestor, descendant], { ok: [0, 1] });
    return result.code === 0;
  }
  /** The contents of many objects at once (`cat-file --batch`); missing ones are absent from the map. */
  async readObjects(names) {
    const objects = await this.catObjects(names);
    return new Map([...objects].map(([name, object]) => [name, object.content]));
  }
  /** Objects by name (an id, or `<rev>:<path>`) with their ids and types, in one `cat-file --batch`. */
  async catObjects(names) {
    const objects = /* @__PURE__ */ new Map();
    const unique = [...new Set(names)];
    if (unique.length === 0) return objects;
    const bad = unique.find((name) => /[\r\n]/.test(name));
    if (bad !== void 0)
      throw new GitError(`cannot read ${JSON.stringify(bad)}: a line break in an object name`, [], 0, "");
    const { stdout } = await this.run(["cat-file", "--batch"], { input: `${unique.join("\n")}
` });
    let at = 0;
    for (const name of unique) {
      const end = stdout.indexOf(10, at);
      if (end < 0) throw new GitError(`git cat-file --batch stopped early at ${name}`, ["cat-file"], 0, "");
      const header = stdout.subarray(at, end).toString("utf8");
      at = end + 1;
      if (header.endsWith(" missing") || header.endsWith(" ambiguous")) continue;
      const [id, type, sizeText] = header.split(" ");
      const size = Number(sizeText);
      if (!id || !type || !Number.isSafeInteger(size)) {
        throw new GitError(`git cat-file --batch printed "${header}" for ${name}`, ["cat-file"], 0, "");
      }
      objects.set(name, { id, type, content: stdout.subarray(at, at + size) });
      at += size + 1;
    }
    return objects;
  }
  /** Writes a blob; returns its id. */
  async writeBlob(content) {
    return this.text(["hash-object", "-w", "--stdin", "--no-filters"], { input: content });
  }
};
function withConfig(env, entries) {
  const existing = Number(env.GIT_CONFIG_COUNT ?? 0);
  const start = Number.isSafeInteger(existing) && existing > 0 ? existing : 0;
  const out = { GIT_CONFIG_COUNT: String(start + entries.length) };
  entries.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${start + i}`] = key;
    out[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return out;
}

export {
  GitError,
  Git,
  withConfig
};
