#!/usr/bin/python3
"""man-check.py BIN_DIR MAN_DIR [SCHEMA]: every command and flag that a
binary's --help names must appear in its man page (MAN_DIR/NAME.S.scd).

- shmpipectl: each command of `shmpipectl --help`'s "Commands:" list has an
  entry in the page (a line starting with *COMMAND*), and each flag of
  `shmpipectl COMMAND --help` is named in that entry; the global flags are
  named in the page.
- shmpipe-hook, shmpipe-plugin: each flag of --help, and each of the plugin's
  volume options (KEY=), is named in the page.
- shmpipe-runtime: each flag of --shmpipe-help.
- shmpipe.json(5), with SCHEMA: each key of the config schema.

Prints one line per missing item, naming the page, what is missing and
where --help says it; exits 1 if any is missing.
"""
import json
import re
import subprocess
import sys

FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def help_of(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def flags(text):
    # Flags are named in usage and option lines; prose quoting another
    # program's flag (`docker run -v`) is no flag of this binary: only lines
    # that start with the usage or with an indented flag count.
    found = []
    for line in text.splitlines():
        s = line.strip()
        if not (s.startswith("-") or s.startswith("Usage:") or line.startswith("       shmpipe")):
            continue
        for f in FLAG.findall(s if not s.startswith("-") else s.split("  ")[0]):
            if f not in found:
                found.append(f)
    return found


def page_has(page, flag):
    # scdoc escapes nothing in flags; a flag is named as *--x* or in a list.
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", page) is not None


def entries(page):
    """COMMAND -> the text of its entry in the COMMANDS section."""
    out, cur = {}, None
    sec = page.split("\n# COMMANDS\n", 1)
    if len(sec) < 2:
        return out
    body = sec[1].split("\n# ", 1)[0]
    for line in body.splitlines():
        m = re.match(r"\*([a-z][a-z-]*)\*", line)
        if m:
            cur = m.group(1)
            out[cur] = line + "\n"
        elif cur:
            out[cur] += line + "\n"
    return out


def main():
    bindir, mandir = sys.argv[1], sys.argv[2]
    schema = sys.argv[3] if len(sys.argv) > 3 else None
    missing = []

    def page(name):
        try:
            with open(f"{mandir}/{name}.scd") as f:
                return f.read()
        except OSError as e:
            missing.append(f"{mandir}/{name}.scd: no such page ({e.strerror})")
            return None

    # shmpipectl
    ctl = f"{bindir}/shmpipectl"
    top = help_of([ctl, "--help"])
    p = page("shmpipectl.8") or ""
    for f in flags(top):
        if not page_has(p, f):
            missing.append(f"shmpipectl.8: flag {f} (shmpipectl --help) is not in the page")
    cmds = re.findall(r"^  ([a-z][a-z-]*)\b", top.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0], re.M)
    ents = entries(p)
    for c in cmds:
        if c not in ents:
            missing.append(f"shmpipectl.8: command {c} (shmpipectl --help) has no entry *{c}* under COMMANDS")
            continue
        for f in flags(help_of([ctl, c, "--help"])):
            if f in ("-h", "--help"):
                continue
            if not page_has(ents[c], f):
                missing.append(f"shmpipectl.8: flag {f} of {c} (shmpipectl {c} --help) is not in the entry of {c}")

    # the hook and the plugin; the plugin's volume options
    for name in ("shmpipe-hook", "shmpipe-plugin"):
        text = help_of([f"{bindir}/{name}", "--help"])
        p = page(f"{name}.8")
        if p is None:
            continue
        for f in flags(text):
            if not page_has(p, f):
                missing.append(f"{name}.8: flag {f} ({name} --help) is not in the page")
        for k in re.findall(r"^  ([a-z][a-z-]*)=", text, re.M):
            if f"*{k}=" not in p:
                missing.append(f"{name}.8: volume option {k}= ({name} --help) is not in the page")

    text = help_of([f"{bindir}/shmpipe-runtime", "--shmpipe-help"])
    p = page("shmpipe-runtime.8")
    for f in flags(text) if p is not None else []:
        if not page_has(p, f):
            missing.append(f"shmpipe-runtime.8: flag {f} (shmpipe-runtime --shmpipe-help) is not in the page")

    if schema:
        p = page("shmpipe.json.5") or ""
        with open(schema) as f:
            keys = json.load(f)["properties"]
        for k in keys:
            if f"*{k.replace('_', chr(92) + '_')}*" not in p:
                missing.append(f"shmpipe.json.5: config key {k} ({schema}) has no entry *{k}* under KEYS")

    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
