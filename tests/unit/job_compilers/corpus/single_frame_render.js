// Single Frame Render: renders one frame, for look-development stills.
//
// A custom job type in the style studios write for Flamenco 3. One task, one
// blender-render command with a single step.

const JOB_TYPE = {
  label: "Single Frame Render",
  description: "Render the current frame of the scene",
  settings: [
    {
      key: "frame",
      type: "int32",
      required: true,
      eval: "C.scene.frame_current",
      evalInfo: { showLinkButton: true, description: "Current frame" },
    },
    { key: "blendfile", type: "string", required: true, visible: "web" },
    { key: "scene", type: "string", eval: "C.scene.name", visible: "web" },
    {
      key: "format",
      type: "string",
      choices: ["PNG", "OPEN_EXR", "JPEG"],
      default: "PNG",
    },
    {
      key: "render_output_path",
      type: "string",
      subtype: "file_path",
      required: true,
      description: "Output path; {timestamp} is replaced by the submission time",
    },
    { key: "samples", type: "int32", propargs: { min: 1, max: 4096 } },
  ],
};

function compileJob(job) {
  const settings = job.settings;
  const output = settings.render_output_path.replace("{timestamp}", formatTimestampLocal(job.created));
  settings.render_output_path = output;

  const args = [];
  if (settings.scene) args.push("--scene", settings.scene);
  if (settings.samples) {
    args.push("--python-expr", `import bpy; bpy.context.scene.cycles.samples = ${settings.samples}`);
  }
  args.push("--render-output", output, "--render-format", settings.format, "--render-frame", `${settings.frame}`);

  const task = author.Task(`render-frame-${settings.frame}`, "blender");
  task.priority = 60; // Stills are quick; let them go first.
  task.addCommand(
    author.Command(
      "blender-render",
      {
        exe: "{blender}",
        exeArgs: "{blenderArgs}",
        argsBefore: [],
        blendfile: settings.blendfile,
        args: args,
      },
      1,
    ),
  );
  job.addTask(task);
}
