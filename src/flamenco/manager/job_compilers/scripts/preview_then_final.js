// Preview then Final: renders every Nth frame at a reduced resolution, waits
// until a person approves that preview in the web interface (or over the API),
// then renders the full frame range at full resolution.
//
// The approval is a task of type "approval": the Manager never hands it to a
// Worker. Rejecting it fails the job; requeueing the job renders the preview
// again and asks anew. Any job type can add such a task, see
// docs/job-graphs.md.
//
// Part of Flamenco in Python. SPDX-License-Identifier: GPL-3.0-or-later

const JOB_TYPE = {
  label: "Preview then Final",
  description:
    "Render every Nth frame at low resolution, wait for approval, then render all frames",
  settings: [
    // Chosen by the artist when submitting.
    {
      key: "frames",
      type: "string",
      required: true,
      eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
      evalInfo: { showLinkButton: true, description: "Follows the scene's frame range" },
      description: "Frames to render, like '47', '1-30' or '3, 5-10, 47-327'",
    },
    {
      key: "chunk_size",
      type: "int32",
      default: 1,
      description: "How many frames one render task renders",
      visible: "submission",
    },
    {
      key: "preview_every_nth",
      type: "int32",
      default: 10,
      propargs: { min: 1 },
      description: "The preview renders every Nth frame of the range",
      visible: "submission",
    },
    {
      key: "preview_resolution_percentage",
      type: "int32",
      default: 25,
      propargs: { min: 1, max: 100 },
      description: "Resolution of the preview, in percent of the scene's",
      visible: "submission",
    },

    // The render output path is built from these two by the submitter.
    {
      key: "render_output_root",
      type: "string",
      subtype: "dir_path",
      required: true,
      visible: "submission",
      description: "Folder for the render output; job-specific folders are added below it",
    },
    {
      key: "add_path_components",
      type: "int32",
      required: true,
      default: 0,
      propargs: { min: 0, max: 32 },
      visible: "submission",
      description: "How many folder names of the blend file's path to repeat in the output path",
    },
    {
      key: "render_output_path",
      type: "string",
      subtype: "file_path",
      editable: false,
      eval:
        "str(Path(abspath(settings.render_output_root), last_n_dir_parts(settings.add_path_components), jobname, '{timestamp}', '######'))",
      description: "Where the frames are written; '{timestamp}' becomes the submission time",
    },

    // Taken from the blend file by the submitter.
    {
      key: "blendfile",
      type: "string",
      required: true,
      description: "The blend file to render",
      visible: "web",
    },
    {
      key: "fps",
      type: "float",
      eval: "C.scene.render.fps / C.scene.render.fps_base",
      visible: "hidden",
    },
    {
      key: "format",
      type: "string",
      required: true,
      eval: "C.scene.render.image_settings.file_format",
      visible: "web",
    },
    {
      key: "image_file_extension",
      type: "string",
      required: true,
      eval: "C.scene.render.file_extension",
      visible: "hidden",
      description: "File name extension of the rendered images",
    },
    {
      key: "has_previews",
      type: "bool",
      required: false,
      eval: "C.scene.render.image_settings.use_preview",
      visible: "hidden",
      description: "Whether Blender also writes JPEG previews next to the renders",
    },
    {
      key: "scene",
      type: "string",
      required: true,
      eval: "C.scene.name",
      visible: "web",
      description: "The scene to render",
    },
  ],
};

// Same as Simple Blender Render: never overwrite frames, never leave placeholders.
const RENDER_SETTINGS_PYTHON =
  "import bpy; r = bpy.context.scene.render; " +
  "r.use_file_extension = True; r.use_overwrite = False; r.use_placeholder = False";

const MOVIE_FORMATS = ["FFMPEG", "AVI_RAW", "AVI_JPEG"];

function compileJob(job) {
  print("Preview then Final: compiling", job.name);
  const settings = job.settings;
  if (MOVIE_FORMATS.includes(settings.format)) {
    throw `Preview then Final renders image sequences, not movie files in the "${settings.format}" format`;
  }
  const everyNth = integerSetting(settings.preview_every_nth, 10);
  const percentage = integerSetting(settings.preview_resolution_percentage, 25);
  if (everyNth < 1) throw "preview_every_nth must be 1 or more";
  if (percentage < 1 || percentage > 100) throw "preview_resolution_percentage must be 1-100";

  const outputPath = withFieldsReplaced(job);
  settings.render_output_path = outputPath;
  const outputDir = path.dirname(outputPath);
  const previewOutput = path.join(outputDir, "preview", path.basename(outputPath));
  const finalOutput = path.join(outputDir, path.basename(outputPath));

  const previewPython =
    RENDER_SETTINGS_PYTHON + `; r.resolution_percentage = ${percentage}`;
  const previewTasks = renderTasks(
    settings, "preview", previewFrames(settings.frames, everyNth), previewOutput, previewPython,
  );
  for (const task of previewTasks) job.addTask(task);

  // Done by a person, never by a Worker: it completes when approved.
  const approval = author.Task("approve-preview", "approval");
  for (const task of previewTasks) approval.addDependency(task);
  job.addTask(approval);

  const finalTasks = renderTasks(
    settings, "render", settings.frames, finalOutput, RENDER_SETTINGS_PYTHON,
  );
  for (const task of finalTasks) {
    task.addDependency(approval);
    job.addTask(task);
  }
}

function integerSetting(value, fallback) {
  return value === undefined || value === null ? fallback : Math.trunc(Number(value));
}

// Every Nth frame of the range (the first included), as a comma-separated list.
function previewFrames(frames, everyNth) {
  const single = frameChunker(frames, 1);
  return single.filter((frame, index) => index % everyNth === 0).join(",");
}

function withFieldsReplaced(job) {
  const template = job.settings.render_output_path;
  if (!template) throw "this job has no render_output_path setting";
  const stamp = formatTimestampLocal(job.created);
  return template.replace(/{([^}]+)}/g, (field, name) => (name === "timestamp" ? stamp : field));
}

function renderTasks(settings, prefix, frames, output, python) {
  const sceneArgs = settings.scene ? ["--scene", settings.scene] : [];
  return frameChunker(frames, settings.chunk_size).map((chunk) => {
    const task = author.Task(`${prefix}-${chunk}`, "blender");
    task.addCommand(
      author.Command(
        "blender-render",
        {
          exe: "{blender}",
          exeArgs: "{blenderArgs}",
          argsBefore: [],
          blendfile: settings.blendfile,
          args: sceneArgs.concat([
            "--python-expr", python,
            "--render-output", output,
            "--render-format", settings.format,
            "--render-frame", chunk.replaceAll("-", ".."),
          ]),
        },
        frameCount(chunk),
      ),
    );
    return task;
  });
}
