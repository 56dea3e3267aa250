// Bake Then Render: bakes all simulation caches once, then renders in chunks.
//
// The render tasks depend on the bake task, and a cleanup task that removes
// the bake's temporary blend file runs after all renders.

const JOB_TYPE = {
  label: "Bake Then Render",
  settings: [
    { key: "frames", type: "string", required: true, eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'" },
    { key: "chunk_size", type: "int32", default: 5, visible: "submission" },
    { key: "blendfile", type: "string", required: true, visible: "web" },
    { key: "render_output_path", type: "string", subtype: "file_path", required: true },
    { key: "format", type: "string", required: true, eval: "C.scene.render.image_settings.file_format" },
    { key: "bake_frames", type: "string", description: "Frames to bake; defaults to the render frames" },
  ],
};

function compileJob(job) {
  const settings = job.settings;
  const bakeFrames = settings.bake_frames || settings.frames;
  const bakedFile = path.join(path.dirname(settings.blendfile), `${path.stem(settings.blendfile)}-baked.blend`);

  const bake = author.Task("bake-simulations", "blender");
  bake.priority = 80;
  bake.addCommand(
    author.Command(
      "blender-render",
      {
        exe: "{blender}",
        exeArgs: "{blenderArgs}",
        argsBefore: [],
        blendfile: settings.blendfile,
        args: [
          "--python-expr",
          `import bpy; bpy.ops.ptcache.bake_all(bake=True); bpy.ops.wm.save_as_mainfile(filepath=${JSON.stringify(bakedFile)})`,
        ],
      },
      frameCount(bakeFrames),
    ),
  );
  job.addTask(bake);

  const renders = [];
  for (const chunk of frameChunker(settings.frames, settings.chunk_size)) {
    const render = author.Task(`render-${chunk}`, "blender");
    render.addCommand(
      author.Command(
        "blender-render",
        {
          exe: "{blender}",
          exeArgs: "{blenderArgs}",
          argsBefore: [],
          blendfile: bakedFile,
          args: [
            "--render-output", settings.render_output_path,
            "--render-format", settings.format,
            "--render-frame", chunk.replaceAll("-", ".."),
          ],
        },
        frameCount(chunk),
      ),
    );
    render.addDependency(bake);
    job.addTask(render);
    renders.push(render);
  }

  const cleanup = author.Task("remove-baked-file", "file-management");
  cleanup.addCommand(author.Command("move-to-final", { src: bakedFile, dest: `${bakedFile}.done` }));
  renders.forEach(cleanup.addDependency);
  job.addTask(cleanup);
  print("bake then render:", renders.length, "render tasks");
}
