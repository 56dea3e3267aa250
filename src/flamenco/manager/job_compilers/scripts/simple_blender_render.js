// Simple Blender Render: renders a blend file's frames in chunks, one Blender
// task per chunk, and then turns the frames into a preview video with FFmpeg.
//
// The tasks, commands and arguments match those of Flamenco 3's built-in job
// type of the same name, so that jobs render the same on either Manager.
//
// Part of Flamenco in Python. SPDX-License-Identifier: GPL-3.0-or-later

const JOB_TYPE = {
  label: "Simple Blender Render",
  description: "Render frames of the current scene in chunks, then make a preview video of them",
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

    // Output checks: warnings, not failures, and off unless asked for. No default,
    // so that jobs that do not ask keep exactly the settings they were sent.
    {
      key: "warn_black_frames",
      type: "bool",
      visible: "submission",
      description: "Warn in the task log and the frame strip about frames that are entirely black",
    },
    {
      key: "warn_identical_frames",
      type: "bool",
      visible: "submission",
      description: "Warn in the task log and the frame strip about frames identical to the one before",
    },
  ],
};

// Run by Blender before it renders: a re-queued task must neither overwrite
// frames that are already there nor skip frames because of placeholders.
const RENDER_SETTINGS_PYTHON =
  "import bpy; r = bpy.context.scene.render; " +
  "r.use_file_extension = True; r.use_overwrite = False; r.use_placeholder = False";

// Movie formats: this job type writes image sequences only.
const MOVIE_FORMATS = ["FFMPEG", "AVI_RAW", "AVI_JPEG"];

// Image formats FFmpeg cannot read; the preview video then uses Blender's
// JPEG previews, if it writes them. Both Blender's command-line and its
// Python names appear here.
const NON_FFMPEG_FORMATS = ["EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER"];

function compileJob(job) {
  print("Simple Blender Render: compiling", job.name);
  const settings = job.settings;

  if (MOVIE_FORMATS.includes(settings.format)) {
    throw `Simple Blender Render renders image sequences, not movie files in the "${settings.format}" format`;
  }

  const outputPath = withFieldsReplaced(job);
  // Keep the path actually used, so the job shows where its frames went.
  settings.render_output_path = outputPath;
  const outputDir = path.dirname(outputPath);

  const renderTasks = renderTasksFor(settings, outputDir, outputPath);
  for (const task of renderTasks) job.addTask(task);

  const videoTask = previewVideoTask(settings, outputDir);
  if (videoTask !== null) {
    for (const task of renderTasks) videoTask.addDependency(task);
    job.addTask(videoTask);
  }
}

// The render output path with `{timestamp}` replaced by the submission time;
// other `{...}` fields are left for the Workers' variable replacement.
function withFieldsReplaced(job) {
  const template = job.settings.render_output_path;
  if (!template) throw "this job has no render_output_path setting";
  const stamp = formatTimestampLocal(job.created);
  return template.replace(/{([^}]+)}/g, (field, name) => (name === "timestamp" ? stamp : field));
}

function renderTasksFor(settings, outputDir, outputPath) {
  const sceneArgs = settings.scene ? ["--scene", settings.scene] : [];
  const renderOutput = path.join(outputDir, path.basename(outputPath));

  // Only when asked for: otherwise the command is exactly upstream's.
  const frameWarnings = [];
  if (settings.warn_black_frames) frameWarnings.push("black");
  if (settings.warn_identical_frames) frameWarnings.push("identical");

  return frameChunker(settings.frames, settings.chunk_size).map((chunk) => {
    const task = author.Task(`render-${chunk}`, "blender");
    const args = sceneArgs.concat([
      "--python-expr", RENDER_SETTINGS_PYTHON,
      "--render-output", renderOutput,
      "--render-format", settings.format,
      // Blender spells frame ranges "1..3".
      "--render-frame", chunk.replaceAll("-", ".."),
    ]);
    const parameters = {
      exe: "{blender}",
      exeArgs: "{blenderArgs}",
      argsBefore: [],
      blendfile: settings.blendfile,
      args: args,
    };
    if (frameWarnings.length) parameters.frameWarnings = frameWarnings;
    const command = author.Command("blender-render", parameters, frameCount(chunk));
    task.addCommand(command);
    return task;
  });
}

// The FFmpeg task that makes a video of the frames, or null when it cannot.
function previewVideoTask(settings, outputDir) {
  const usesPreviews = NON_FFMPEG_FORMATS.includes(settings.format);
  if (usesPreviews && !settings.has_previews) {
    print("No preview video: FFmpeg cannot read", settings.format, "and there are no previews");
    return null;
  }
  if (!settings.fps) {
    print("No preview video: the frame rate is unknown");
    return null;
  }

  const blendName = path.stem(settings.blendfile).replace(".flamenco", "");
  const videoPath = path.join(outputDir, `${blendName}-${videoFrameLabel(settings.frames)}.mp4`);
  const extension = usesPreviews ? ".jpg" : settings.image_file_extension;

  const task = author.Task("preview-video", "ffmpeg");
  task.addCommand(
    author.Command("frames-to-video", {
      exe: "ffmpeg",
      fps: settings.fps,
      inputGlob: path.join(outputDir, `*${extension}`),
      outputFile: videoPath,
      args: [
        "-c:v", "h264",
        "-crf", "20",
        "-g", "18",
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-pix_fmt", "yuv420p",
        "-r", settings.fps,
        "-y", // FFmpeg must never stop to ask whether to overwrite.
      ],
    }),
  );
  return task;
}

// The frames part of the video's name: a list of ranges becomes "first-last".
function videoFrameLabel(frames) {
  const text = `${frames}`;
  if (!text.includes(",")) return text;
  const single = frameChunker(frames, 1);
  return `${single[0]}-${single[single.length - 1]}`;
}
