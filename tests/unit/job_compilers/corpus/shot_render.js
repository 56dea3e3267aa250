// Shot Render: renders a shot into a per-shot folder, with extra Blender
// arguments from the submitter. Uses a helper module from the same folder.

const helpers = require("./render_helpers");
const defaults = require("./shot_defaults.json");

const JOB_TYPE = {
  label: "Shot Render",
  settings: [
    { key: "shot", type: "string", required: true },
    { key: "frames", type: "string", required: true },
    { key: "chunk_size", type: "int32", default: defaults.chunk_size },
    { key: "blendfile", type: "string", required: true },
    { key: "output_root", type: "string", subtype: "dir_path", required: true },
    { key: "extra_args", type: "string", default: "" },
  ],
};

function compileJob(job) {
  const settings = job.settings;
  const output = helpers.outputFor(settings.output_root, settings.shot);
  const extra = shellSplit(settings.extra_args);
  for (const chunk of frameChunker(settings.frames, settings.chunk_size)) {
    const task = author.Task(`${settings.shot}-${chunk}`, "blender");
    const args = extra.concat(["--render-output", output, "--render-frame", chunk.replaceAll("-", "..")]);
    task.addCommand(helpers.blenderRender(settings.blendfile, args, frameCount(chunk)));
    job.addTask(task);
  }
}
