// Helpers shared by this folder's render job types; loaded with require().
// It declares no job type of its own, so the Manager does not list it.

const path = require("path");

function blenderRender(blendfile, args, steps) {
  return author.Command(
    "blender-render",
    { exe: "{blender}", exeArgs: "{blenderArgs}", argsBefore: [], blendfile: blendfile, args: args },
    steps,
  );
}

function outputFor(root, shot) {
  return path.join(root, shot, "######");
}

module.exports = { blenderRender, outputFor };
