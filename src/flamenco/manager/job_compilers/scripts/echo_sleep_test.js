// Echo Sleep Test: a job that needs neither Blender nor FFmpeg, for checking
// that a farm hands out tasks and that Workers run them.
//
// One task logs the message; then `sleep_repeats` tasks each wait for
// `sleep_duration_seconds`. The waiting tasks only start once the message has
// been logged.
//
// Part of Flamenco in Python. SPDX-License-Identifier: GPL-3.0-or-later

const JOB_TYPE = {
  label: "Echo Sleep Test",
  settings: [
    { key: "message", type: "string", required: true },
    { key: "sleep_duration_seconds", type: "int32", default: 1 },
    { key: "sleep_repeats", type: "int32", default: 1 },
  ],
};

function compileJob(job) {
  const { message, sleep_duration_seconds: seconds, sleep_repeats: repeats } = job.settings;

  const echoTask = miscTask("echo", "echo", { message: message });
  job.addTask(echoTask);

  for (let round = 0; round < repeats; round++) {
    const sleepTask = miscTask("sleep", "sleep", { duration_in_seconds: seconds });
    sleepTask.addDependency(echoTask);
    job.addTask(sleepTask);
  }
}

// A task of type "misc" that runs a single command.
function miscTask(taskName, commandName, parameters) {
  const task = author.Task(taskName, "misc");
  task.addCommand(author.Command(commandName, parameters));
  return task;
}
