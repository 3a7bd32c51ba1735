"""`make pot`: regenerate every addon's ``i18n/<addon>.pot`` from a fresh
database holding the whole suite installed WITHOUT demo data (so no demo
string reaches a template).

One throwaway database, one Odoo process (``odoo-bin shell``) exporting each
addon with Odoo's own exporter (``odoo.tools.translate.trans_export``, what
``--i18n-export`` runs). Idempotent: a template whose entries did not change
keeps its file as it was (the creation dates of its header included), so a
second run changes nothing."""

import os
import re
import subprocess
import sys
import time

import odoo_env as oe

#: Header lines that change on every export.
DATE_RE = re.compile(r'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"$', re.M)

SHELL = """
import io, json, sys
from odoo.tools.translate import trans_export
out = {}
for name in %(modules)r:
    buf = io.BytesIO()
    trans_export(None, [name], buf, "po", env.cr)
    out[name] = buf.getvalue().decode()
sys.stdout.write("\\n@@POT@@" + json.dumps(out) + "\\n")
"""


def write_pot(path, text):
    """Write ``text`` unless it equals the file's current content but for
    the header dates; True when the file changed."""
    old = path.read_text() if path.exists() else None
    if old is not None and DATE_RE.sub("", old) == DATE_RE.sub("", text):
        return False
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return True


def main():
    import json

    root = oe.require_odoo_and_postgres("make pot")
    oe.ensure_engine(root)
    db = f"shipsync_pot_{os.getpid()}"
    started = time.time()
    oe.drop_db(db)
    try:
        print(f"==> installing {len(oe.ADDONS)} addons without demo data in {db}", flush=True)
        oe.install_without_demo(root, db, ",".join(oe.ADDONS))
        proc = subprocess.run(
            [*oe.odoo_bin(root), "shell", *oe.db_args(db),
             f"--addons-path={oe.addons_path(root)}", "--no-http", "--log-level=warn"],
            input=SHELL % {"modules": list(oe.ADDONS)}, cwd=oe.REPO, env=oe.env_with_repo(),
            capture_output=True, text=True, check=False)
    finally:
        oe.drop_db(db)
    marker = proc.stdout.rfind("@@POT@@")
    if proc.returncode != 0 or marker < 0:
        print(f"make pot: the export failed: {proc.stderr.strip()[-1500:]}", file=sys.stderr)
        return 1
    pots = json.loads(proc.stdout[marker + len("@@POT@@"):].strip())
    changed = [name for name in oe.ADDONS
               if write_pot(oe.REPO / name / "i18n" / f"{name}.pot", pots[name])]
    print(f"make pot: {len(pots)} templates exported, {len(changed)} changed "
          f"({', '.join(changed) or 'none'}), {time.time() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
