"""`make readme`: each addon's README.rst and static/description/index.html,
generated from its readme/*.md fragments the way OCA's gen-addon-readme lays
them out (title, summary, badges line, table of contents, one section per
fragment, credits). Markdown is converted with pandoc; the HTML page with
docutils (which Odoo already requires).

Run it after editing a fragment; `--check` fails when a generated file is out
of date (used by `make lint`)."""

import argparse
import ast
import shutil
import subprocess
import sys

import odoo_env as oe

#: Fragments in the order OCA's template shows them, with their headings.
FRAGMENTS = (
    ("DESCRIPTION", None),
    ("INSTALL", "Installation"),
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
    ("HISTORY", "Changelog"),
)
STATUS_BADGE = {
    "Alpha": "https://img.shields.io/badge/maturity-Alpha-red.png",
    "Beta": "https://img.shields.io/badge/maturity-Beta-yellow.png",
    "Production/Stable": "https://img.shields.io/badge/maturity-Production%2FStable-green.png",
    "Mature": "https://img.shields.io/badge/maturity-Mature-brightgreen.png",
}


def md_to_rst(text):
    proc = subprocess.run(["pandoc", "--from=gfm", "--to=rst", "--wrap=preserve"],
                          input=text, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def heading(title, char):
    return f"{title}\n{char * len(title)}"


def render(addon_dir):
    manifest = ast.literal_eval((addon_dir / "__manifest__.py").read_text())
    name = manifest["name"]
    parts = [
        "=" * len(name), name, "=" * len(name), "",
        f".. |badge1| image:: {STATUS_BADGE[manifest.get('development_status', 'Beta')]}",
        "    :alt: " + manifest.get("development_status", "Beta"),
        ".. |badge2| image:: https://img.shields.io/badge/licence-"
        f"{manifest['license'].replace('-', '--')}-blue.png",
        f"    :alt: License: {manifest['license']}",
        "", "|badge1| |badge2|", "",
        manifest.get("summary", ""), "",
    ]
    body = []
    for fragment, title in FRAGMENTS:
        path = addon_dir / "readme" / f"{fragment}.md"
        if not path.exists():
            continue
        rst = md_to_rst(path.read_text())
        body.append(rst if title is None else heading(title, "=") + "\n\n" + rst)
    parts.append(body[0] if body else "")
    parts += ["", "**Table of contents**", "", ".. contents::", "   :local:", ""]
    parts.append("\n\n".join(body[1:]))
    maintainers = manifest.get("maintainers") or []
    parts += ["", heading("Credits", "="), "", heading("Authors", "-"), "",
              *[f"* {author.strip()}" for author in manifest["author"].split(",")], ""]
    if maintainers:
        parts += [heading("Maintainers", "-"), "",
                  *[f"* `{login} <https://github.com/{login}>`_" for login in maintainers], ""]
    parts += [f"This module is part of the Shipment Sync suite ({manifest.get('website', '')}).",
              ""]
    return "\n".join(parts)


def rst_to_html(rst):
    from docutils.core import publish_string

    return publish_string(rst, writer_name="html5", settings_overrides={
        "embed_stylesheet": False, "stylesheet_path": "", "report_level": 4,
        "halt_level": 5, "output_encoding": "unicode", "doctitle_xform": True,
    })


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args()
    if not shutil.which("pandoc"):
        print("make readme needs pandoc (apt-get install pandoc)", file=sys.stderr)
        return 2
    stale = []
    for addon in oe.ADDONS:
        addon_dir = oe.REPO / addon
        rst = render(addon_dir)
        html = rst_to_html(rst)
        targets = {addon_dir / "README.rst": rst,
                   addon_dir / "static" / "description" / "index.html": html}
        for path, content in targets.items():
            current = path.read_text() if path.exists() else None
            if current != content:
                stale.append(path.relative_to(oe.REPO))
                if not args.check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content)
    for path in stale:
        print(("stale: " if args.check else "wrote ") + str(path))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
