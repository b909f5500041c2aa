"""The project's files that are not Python: the HLS templates, the RTL templates and cores, the board driver.

They live in the repository's top-level folders (hls_templates/, rtl_templates/, board/); a wheel carries
them as package data under toolchain/_assets/ (setup.py copies them there at build time). ``folder``
finds them either way through importlib.resources; ``render`` is the one strict Jinja2 renderer.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from toolchain.errors import QsnnError

FOLDERS = ("hls_templates", "rtl_templates", "board")


def folder(name: str) -> Path:
    """The installed folder ``name`` (one of FOLDERS): the wheel's package data, else the source tree's."""
    if name not in FOLDERS:
        raise ValueError(f"no asset folder {name!r}; one of {FOLDERS}")
    packaged = resources.files("toolchain") / "_assets" / name
    for candidate in (Path(str(packaged)), Path(__file__).resolve().parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise QsnnError(
        f"the project's {name}/ folder is missing from this installation; reinstall qsnn-pynq ('make install', "
        "or a wheel built with 'pip wheel .')"
    )


def render(name: str, template: str, /, **ctx) -> str:
    """Render ``<name>/<template>`` strictly: a variable the template uses but ``ctx`` lacks is an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder(name))), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    try:
        return env.get_template(template).render(**ctx)
    except (jinja2.UndefinedError, jinja2.TemplateNotFound) as e:
        raise QsnnError(f"template {name}/{template}: {type(e).__name__} {e}") from None
