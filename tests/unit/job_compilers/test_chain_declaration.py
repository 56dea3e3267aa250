"""JOB_TYPE.chain (job graph extension): listed for the add-on, checked, kept out of the etag."""

from __future__ import annotations

import pathlib

from flamenco.manager import job_compilers

CHAIN_SCRIPT = """\
const JOB_TYPE = {
  label: "Shot pipeline",
  settings: [{ key: "frames", type: "string", required: true }],
  chain: [
    "echo-sleep-test",
    { type: "simple-blender-render", name: "render" },
    {
      type: "echo-sleep-test",
      name: "comp",
      dependsOn: ["echo-sleep-test", "simple-blender-render"],
    },
  ],
};
function compileJob(job) {
  throw "submit this job type with the Flamenco add-on, which submits its chain";
}
"""


async def test_chain_is_listed_and_leaves_the_etag_alone(tmp_path: pathlib.Path) -> None:
    (tmp_path / "shot_pipeline.js").write_text(CHAIN_SCRIPT, encoding="utf-8")
    plain = tmp_path / "plain"
    plain.mkdir()
    without_chain = CHAIN_SCRIPT.replace("  chain: [", "  unused: [")
    (plain / "shot_pipeline.js").write_text(without_chain, encoding="utf-8")

    listed = await job_compilers.JobCompilers(scripts_dir=tmp_path).get_job_type("shot-pipeline")
    assert listed["chain"] == [
        {"type": "echo-sleep-test"},
        {"type": "simple-blender-render", "name": "render"},
        {
            "type": "echo-sleep-test",
            "name": "comp",
            "dependsOn": ["echo-sleep-test", "simple-blender-render"],
        },
    ]
    other = await job_compilers.JobCompilers(scripts_dir=plain).get_job_type("shot-pipeline")
    assert "chain" not in other
    assert listed["etag"] == other["etag"]


async def test_a_chain_naming_a_later_job_type_is_broken(tmp_path: pathlib.Path) -> None:
    script = CHAIN_SCRIPT.replace('dependsOn: ["echo-sleep-test", ', 'dependsOn: ["comp-later", ')
    (tmp_path / "shot_pipeline.js").write_text(script, encoding="utf-8")
    listing = await job_compilers.JobCompilers(scripts_dir=tmp_path).list_job_types()
    assert [broken.name for broken in listing.broken] == ["shot-pipeline"]
    assert "comp-later" in listing.broken[0].message
