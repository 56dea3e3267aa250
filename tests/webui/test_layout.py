"""At 1400 px, a common laptop width: table columns are not cut off, and long paths wrap."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from flamenco.worker.client import SOFTWARE_VERSION
from support.manager_process import ManagerProcess
from webui.helpers import ApiClient, screenshot

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect

WIDTH = 1400
BLENDFILE = (
    "/render/projects/the-long-winded-feature-film/sequences/sq010-the-opening-sequence/"
    "sh0040-establishing-shot/lighting/sh0040-establishing-shot.lighting.v012.flamenco.blend"
)
SOURCE = (
    "P:\\Projects\\The Long Winded Feature Film\\Sequences\\SQ010_TheOpeningSequence\\"
    "SH0040_EstablishingShot\\Lighting\\sh0040_establishing_shot_lighting_v012.blend"
)

# For each cell of a column of a grid: its text, and whether that text fits.
COLUMN_CELLS = """([grid, label]) => {
  const table = document.querySelector(`[role=grid][aria-label="${grid}"]`);
  const header = [...table.querySelectorAll('[role=columnheader]')];
  const index = header.findIndex((cell) => cell.textContent.trim().replace(/ [▾▴]$/, '') === label);
  if (index < 0) throw new Error(`no column ${label} in ${grid}`);
  return [...table.querySelectorAll('[role=row]')].map((row) => {
    const cell = row.children[index];
    return { text: cell.textContent, scrollWidth: cell.scrollWidth, clientWidth: cell.clientWidth };
  });
}"""

# Where the lines of an element's text break: the characters just before each break.
LINE_BREAKS = """(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let previousTop = null;
  let previousCharacter = '';
  const breaksAfter = [];
  let lines = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let offset = 0; offset < node.length; offset += 1) {
      range.setStart(node, offset);
      range.setEnd(node, offset + 1);
      const rect = range.getClientRects()[0];
      if (!rect) continue;
      if (previousTop === null || rect.top > previousTop + rect.height / 2) {
        if (previousTop !== null) breaksAfter.push(previousCharacter);
        lines += 1;
        previousTop = rect.top;
      }
      previousCharacter = node.data[offset];
    }
  }
  return {
    lines,
    breaksAfter,
    text: element.textContent,
    scrollWidth: element.scrollWidth,
    clientWidth: element.clientWidth,
  };
}"""


async def register_worker(api: ApiClient, name: str, version: str) -> None:
    """A Worker as it registers and signs on, with the version it reports."""
    secret = f"secret-of-{name}"
    registered = await api.call(
        "POST",
        "/api/v3/worker/register-worker",
        {"name": name, "secret": secret, "platform": "linux", "supported_task_types": ["blender"]},
    )
    credentials = base64.b64encode(f"{registered['uuid']}:{secret}".encode()).decode()
    async with api.session.post(
        api.base_url + "/api/v3/worker/sign-on",
        json={"name": name, "supported_task_types": ["blender"], "software_version": version},
        headers={"Authorization": f"Basic {credentials}"},
    ) as response:
        assert response.status < 400, await response.text()


async def assert_column_fits(page: Any, grid: str, label: str, expected: str) -> None:
    cells = await page.evaluate(COLUMN_CELLS, [grid, label])
    assert any(cell["text"] == expected for cell in cells), (expected, cells)
    cut_off = [cell for cell in cells if cell["scrollWidth"] > cell["clientWidth"]]
    assert not cut_off, f"{grid} table, {label} column: cut off at {WIDTH} px: {cut_off}"


def assert_wraps_at_separators(layout: dict[str, Any], separator: str) -> None:
    assert layout["lines"] >= 2, f"the path does not wrap: {layout}"
    assert set(layout["breaksAfter"]) == {separator}, f"breaks inside a name: {layout}"
    assert layout["scrollWidth"] <= layout["clientWidth"], f"the path overflows: {layout}"


async def test_columns_fit_and_paths_wrap_at_1400_px(
    manager: ManagerProcess, page: Any, api: ApiClient
) -> None:
    await page.set_viewport_size({"width": WIDTH, "height": 900})
    await register_worker(api, "render-node-07", SOFTWARE_VERSION)
    await register_worker(api, "render-node-08", "3.6-alpha0")
    job = await api.call(
        "POST",
        "/api/v3/jobs",
        {
            "name": "sh0040 lighting",
            "type": "simple-blender-render",
            "priority": 50,
            "submitter_platform": "linux",
            "settings": {
                "blendfile": BLENDFILE,
                "chunk_size": 1,
                "frames": "1-1200",
                "render_output_root": "/render/frames",
                "add_path_components": 0,
                "render_output_path": "/render/frames/sh0040/{timestamp}/######",
                "fps": 24.0,
                "format": "PNG",
                "image_file_extension": ".png",
                "has_previews": False,
                "scene": "Scene",
            },
            "metadata": {"source": SOURCE},
        },
    )

    await page.goto(f"{manager.base_url}/app/jobs/{job['id']}")
    tasks = page.get_by_test_id("tasks-table")
    # The highest task numbers first, so that the widest ones are on screen.
    await tasks.get_by_role("button", name="Num").click()
    await expect(tasks.get_by_role("row").nth(1)).to_contain_text("1201")
    await assert_column_fits(page, "Jobs", "Type", "simple-blender-render")
    await assert_column_fits(page, "Tasks", "Num", "1201")

    details = page.get_by_test_id("job-details")
    blendfile = details.locator("dd").filter(has_text="establishing-shot.lighting.v012")
    await expect(blendfile).to_have_count(1)
    assert_wraps_at_separators(await blendfile.evaluate(LINE_BREAKS), "/")
    # Copied, the path is the path: no line breaks or other characters were added.
    assert await blendfile.evaluate("(element) => element.innerText") == BLENDFILE
    await details.get_by_role("tab", name="Metadata").click()
    source = details.locator("dd").filter(has_text="sh0040_establishing_shot_lighting")
    await expect(source).to_have_count(1)
    assert_wraps_at_separators(await source.evaluate(LINE_BREAKS), "\\")
    assert await source.evaluate("(element) => element.innerText") == SOURCE
    await screenshot(page, "jobs-at-1400px")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Workers").click()
    workers = page.get_by_test_id("workers-table")
    await expect(workers.get_by_role("row").filter(has_text="render-node-08")).to_have_count(1)
    await assert_column_fits(page, "Workers", "Version", SOFTWARE_VERSION)
    await screenshot(page, "workers-at-1400px")
