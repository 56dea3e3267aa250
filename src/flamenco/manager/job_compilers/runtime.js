// The globals that Flamenco job-type scripts use, installed into every fresh
// V8 context before the script itself runs.
//
// Scripts written for Flamenco 3 (which runs them in the goja engine) expect
// `author`, `path`, `process`, `print`, `alert`, `frameChunker`, `frameCount`,
// `formatTimestampLocal`, `shellSplit` and `require`. This file provides them
// with the same behaviour, including upstream's quirks where a script could
// notice the difference. Everything else stays inside this closure; the Python
// engine drives it through one frozen, hidden object, `__flamencoBridge`.
//
// Globals are defined as configurable properties rather than `var`s, so that a
// script may still declare its own `const path = require("path")` at top level.

(function installFlamencoRuntime(global) {
  "use strict";

  // Keep our own references: a script may overwrite the global ones.
  const stringify = JSON.stringify;
  const parseJson = JSON.parse;
  const indirectEval = global.eval;
  const objectKeys = Object.keys;
  const isArray = Array.isArray;

  // Print output is for the log; a script printing in a tight loop must not
  // fill the Manager's memory with it.
  const MAX_OUTPUT_LINES = 1000;
  const MAX_OUTPUT_LINE_LENGTH = 4000;

  const state = {
    cwd: "",
    platform: "",
    modules: Object.create(null),
    moduleCache: new Map(),
    output: [],
    droppedOutput: 0,
    added: [], // {source: Task, snapshot: object}, in the order of job.addTask()
  };

  function defineGlobal(name, value) {
    Object.defineProperty(global, name, {
      value: value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  function hide(target, name, value) {
    Object.defineProperty(target, name, {
      value: value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  function isPresent(value) {
    return value !== undefined && value !== null;
  }

  // Go converts a missing string argument to "", not to "undefined".
  function asString(value) {
    return isPresent(value) ? String(value) : "";
  }

  // Go's int conversion of a JS number: truncate, and refuse what is not a number.
  function asInteger(value, what) {
    const number = Number(value);
    if (!Number.isFinite(number)) {
      throw new TypeError(`${what} must be a number, not ${describeValue(value)}`);
    }
    return Math.trunc(number) || 0;
  }

  function describeValue(value) {
    if (typeof value === "string") return stringify(value);
    if (value === undefined) return "undefined";
    return String(value);
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !isArray(value);
  }

  // A deep copy made of JSON data only, as a Go export of a JS value would be.
  function plainCopy(value) {
    const text = stringify(value);
    return text === undefined ? undefined : parseJson(text);
  }

  // ---------------------------------------------------------------- output

  function formatForOutput(value) {
    if (typeof value === "string") return value;
    if (value === undefined) return "undefined";
    if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
    try {
      const text = stringify(value);
      return text === undefined ? String(value) : text;
    } catch (error) {
      return String(value);
    }
  }

  function recordOutput(level, args) {
    if (state.output.length >= MAX_OUTPUT_LINES) {
      state.droppedOutput += 1;
      return;
    }
    let text = Array.prototype.map.call(args, formatForOutput).join(" ");
    if (text.length > MAX_OUTPUT_LINE_LENGTH) {
      text = text.slice(0, MAX_OUTPUT_LINE_LENGTH) + "…";
    }
    state.output.push([level, text]);
  }

  function print() {
    recordOutput("info", arguments);
  }

  function alert() {
    recordOutput("warning", arguments);
  }

  // ----------------------------------------------------------- frame ranges
  //
  // A frame range is a comma-separated list of parts; each part is one frame
  // `N` or an inclusive range `A-B` (Blender also writes `A..B`). Whitespace
  // around numbers is ignored, frames are de-duplicated and sorted. Ranges are
  // kept as [first, last] intervals rather than exploded into single frames,
  // so a long range costs no more than a short one.

  function invalidRange(range, reason) {
    return new Error(`invalid range "${range}": ${reason}`);
  }

  function parseFrameNumber(text, range, part) {
    const trimmed = text.trim();
    // Go's strconv.ParseInt: an optional sign, then decimal digits only.
    if (!/^[+-]?[0-9]+$/.test(trimmed)) {
      throw invalidRange(range, `cannot parse "${part.trim()}"`);
    }
    const frame = Number(trimmed);
    if (!Number.isSafeInteger(frame)) {
      throw invalidRange(range, `frame number ${trimmed} is out of range`);
    }
    return frame || 0;
  }

  function frameIntervals(frameRange) {
    const range = String(frameRange);
    const normalised = range.split("..").join("-");
    const intervals = [];
    for (const part of normalised.split(",")) {
      const ends = part.split("-");
      if (ends.length === 1) {
        const frame = parseFrameNumber(ends[0], range, part);
        intervals.push([frame, frame]);
      } else if (ends.length === 2) {
        const first = parseFrameNumber(ends[0], range, part);
        const last = parseFrameNumber(ends[1], range, part);
        // A backwards range like "10-1" holds no frames, as upstream.
        if (first <= last) intervals.push([first, last]);
      } else {
        throw invalidRange(range, `cannot parse "${part.trim()}"`);
      }
    }
    intervals.sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const interval of intervals) {
      const previous = merged[merged.length - 1];
      if (previous !== undefined && interval[0] <= previous[1] + 1) {
        previous[1] = Math.max(previous[1], interval[1]);
      } else {
        merged.push([interval[0], interval[1]]);
      }
    }
    return merged;
  }

  // Upstream writes a run of two frames as "A,B", not "A-B".
  function formatRun(first, last) {
    if (first === last) return String(first);
    if (first + 1 === last) return `${first},${last}`;
    return `${first}-${last}`;
  }

  function frameChunker(frameRange, chunkSize) {
    const range = String(frameRange).trim();
    if (range === "") throw invalidRange(range, "empty range");
    const size = Math.trunc(Number(chunkSize)) || 0;
    if (size < 1) {
      throw new Error(`invalid chunk size, must be positive number: ${size}`);
    }
    const intervals = frameIntervals(range);
    if (intervals.length === 0) throw invalidRange(range, "empty range");

    const chunks = [];
    let runs = [];
    let framesInChunk = 0;
    for (const [first, last] of intervals) {
      let start = first;
      while (start <= last) {
        const take = Math.min(size - framesInChunk, last - start + 1);
        runs.push(formatRun(start, start + take - 1));
        framesInChunk += take;
        start += take;
        if (framesInChunk === size) {
          chunks.push(runs.join(","));
          runs = [];
          framesInChunk = 0;
        }
      }
    }
    if (framesInChunk > 0) chunks.push(runs.join(","));
    return chunks;
  }

  function frameCount(frameRange) {
    let count = 0;
    for (const [first, last] of frameIntervals(frameRange)) count += last - first + 1;
    return count;
  }

  // ------------------------------------------------------------ timestamps

  function formatTimestampLocal(date) {
    const moment = date instanceof Date ? date : new Date(date);
    if (Number.isNaN(moment.getTime())) {
      throw new TypeError(`formatTimestampLocal(date): not a date: ${describeValue(date)}`);
    }
    const two = (number) => String(number).padStart(2, "0");
    // Local time of the Manager, as upstream's time.Local; the year is
    // zero-padded to four digits like Go's "2006" layout.
    return (
      `${String(moment.getFullYear()).padStart(4, "0")}-` +
      `${two(moment.getMonth() + 1)}-${two(moment.getDate())}_` +
      `${two(moment.getHours())}${two(moment.getMinutes())}${two(moment.getSeconds())}`
    );
  }

  // ------------------------------------------------------------ shellSplit
  //
  // Splits like the Go shlex package upstream uses: whitespace separates
  // words, single quotes are literal, double quotes allow backslash escapes of
  // any character, a backslash outside quotes escapes the next character, and
  // a `#` at the start of a word starts a comment that runs to the end of the
  // line. An unfinished quote or escape is an error.

  function shellSplit(commandLine) {
    const text = asString(commandLine);
    const isSpace = (character) =>
      character === " " || character === "\t" || character === "\r" || character === "\n";
    const words = [];
    let index = 0;
    while (index < text.length) {
      const character = text[index];
      if (isSpace(character)) {
        index += 1;
        continue;
      }
      if (character === "#") {
        const newline = text.indexOf("\n", index);
        index = newline < 0 ? text.length : newline + 1;
        continue;
      }
      let word = "";
      while (index < text.length && !isSpace(text[index])) {
        const current = text[index];
        if (current === "\\") {
          if (index + 1 >= text.length) throw new Error("EOF found after escape character");
          word += text[index + 1];
          index += 2;
        } else if (current === "'") {
          const closing = text.indexOf("'", index + 1);
          if (closing < 0) throw new Error("EOF found when expecting closing quote");
          word += text.slice(index + 1, closing);
          index = closing + 1;
        } else if (current === '"') {
          index += 1;
          for (;;) {
            if (index >= text.length) throw new Error("EOF found when expecting closing quote");
            const quoted = text[index];
            if (quoted === '"') {
              index += 1;
              break;
            }
            if (quoted === "\\") {
              if (index + 1 >= text.length) throw new Error("EOF found after escape character");
              word += text[index + 1];
              index += 2;
            } else {
              word += quoted;
              index += 1;
            }
          }
        } else {
          word += current;
          index += 1;
        }
      }
      words.push(word);
    }
    return words;
  }

  // ------------------------------------------------------------------ path
  //
  // Upstream's crosspath: both `/` and `\` are separators, results use `/`.
  // Only forward slashes are cleaned by join(), like Go's path.Join followed
  // by a backslash-to-slash replacement, so `\\SERVER` keeps its two slashes.

  function toSlash(text) {
    return text.split("\\").join("/");
  }

  function cleanPath(text) {
    if (text === "") return ".";
    const rooted = text[0] === "/";
    const parts = [];
    for (const part of text.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
        else if (!rooted) parts.push("..");
        continue;
      }
      parts.push(part);
    }
    const cleaned = (rooted ? "/" : "") + parts.join("/");
    return cleaned === "" ? "." : cleaned;
  }

  function basename(filePath) {
    let slashed = toSlash(asString(filePath));
    if (slashed === "") return ".";
    while (slashed.length > 0 && slashed[slashed.length - 1] === "/") {
      slashed = slashed.slice(0, -1);
    }
    if (slashed === "") return "/";
    return slashed.slice(slashed.lastIndexOf("/") + 1);
  }

  function dirname(filePath) {
    const text = asString(filePath);
    if (text === "") return ".";
    const slashed = toSlash(text);
    const directory = slashed.slice(0, slashed.lastIndexOf("/") + 1);
    if (directory === "") return ".";
    return directory.length > 1 ? directory.slice(0, -1) : directory;
  }

  function join() {
    const elements = Array.prototype.map.call(arguments, asString);
    const first = elements.findIndex((element) => element !== "");
    if (first < 0) return "";
    return toSlash(cleanPath(elements.slice(first).join("/")));
  }

  function stem(filePath) {
    const name = basename(filePath);
    const dot = name.lastIndexOf(".");
    return dot < 0 ? name : name.slice(0, dot);
  }

  const pathModule = Object.freeze({ basename, dirname, join, stem });

  // --------------------------------------------------------------- process

  const processModule = {
    cwd: () => state.cwd,
    get platform() {
      return state.platform;
    },
  };

  // ---------------------------------------------------------------- author
  //
  // Upstream copies a task into the job when it is added, and a command into
  // its task when it is added; later changes to those objects are not seen.
  // We keep the same snapshots so that a script compiles to the same tasks.

  class Command {
    constructor(name, parameters, totalStepCount) {
      this.name = name;
      this.parameters = parameters;
      this.totalStepCount = totalStepCount;
    }
  }

  class Task {
    constructor(name, type) {
      this.name = name;
      this.type = type;
      this.priority = 50;
      this.commands = [];
      this.dependencies = [];
      // Bound, like the Go methods upstream: `commands.forEach(task.addCommand)` works.
      hide(this, "addCommand", (command) => addCommand(this, command));
      hide(this, "addDependency", (dependency) => addDependency(this, dependency));
    }
  }

  function addCommand(task, command) {
    if (!(command instanceof Command)) {
      throw new TypeError("task.addCommand(command): expected a command made by author.Command()");
    }
    if (!isPlainObject(command.parameters)) {
      throw new TypeError(`command "${command.name}": parameters must be an object`);
    }
    task.commands.push({
      name: asString(command.name),
      // Shared, not copied: upstream shares the parameter map too.
      parameters: command.parameters,
      totalStepCount: asInteger(command.totalStepCount, `command "${command.name}": totalStepCount`),
    });
  }

  function addDependency(task, dependency) {
    if (!(dependency instanceof Task)) {
      throw new TypeError("task.addDependency(task): expected a task made by author.Task()");
    }
    task.dependencies.push(dependency);
  }

  function authorTask(name, type) {
    const taskName = asString(name).trim();
    const taskType = asString(type).trim();
    if (taskName === "") throw new Error("author.Task(name, type): name is required");
    if (taskType === "") throw new Error("author.Task(name, type): type is required");
    return new Task(taskName, taskType);
  }

  function authorCommand(name, parameters, totalStepCount) {
    let copied = {};
    if (isPresent(parameters)) {
      if (!isPlainObject(parameters)) {
        throw new TypeError(
          "author.Command(name, parameters, totalStepCount): parameters must be an object",
        );
      }
      copied = plainCopy(parameters);
    }
    // A missing step count is 0: "this command does not report steps".
    const steps = totalStepCount === undefined ? 0 : asInteger(totalStepCount, "totalStepCount");
    return new Command(asString(name), copied, steps);
  }

  const authorModule = Object.freeze({ Task: authorTask, Command: authorCommand });

  // ------------------------------------------------------------------- job

  class Job {
    constructor(input) {
      this.jobID = input.jobID;
      this.name = input.name;
      this.jobType = input.jobType;
      this.priority = input.priority;
      this.status = "under-construction";
      this.created = new Date(input.created);
      this.settings = input.settings;
      this.metadata = input.metadata;
      this.storage = { shamanCheckoutID: input.shamanCheckoutID };
      this.workerTagUUID = input.workerTagUUID;
      this.tasks = [];
      hide(this, "addTask", (task) => addTask(this, task));
    }
  }

  function addTask(job, task) {
    if (!(task instanceof Task)) {
      throw new TypeError("job.addTask(task): expected a task made by author.Task()");
    }
    const snapshot = {
      name: asString(task.name),
      type: asString(task.type),
      priority: asInteger(task.priority, `task "${task.name}": priority`),
      commands: task.commands.slice(),
      dependencies: task.dependencies.slice(),
    };
    job.tasks.push(snapshot);
    state.added.push({ source: task, snapshot: snapshot });
  }

  function collectTasks() {
    const indexOfTask = new Map();
    state.added.forEach((entry, index) => {
      if (indexOfTask.has(entry.source)) {
        throw new Error(`task "${entry.snapshot.name}" was added to the job more than once`);
      }
      indexOfTask.set(entry.source, index);
    });
    return state.added.map(({ snapshot }) => {
      const dependencies = new Set();
      for (const dependency of snapshot.dependencies) {
        const index = indexOfTask.get(dependency);
        if (index === undefined) {
          throw new Error(
            `task "${snapshot.name}" depends on task "${dependency.name}", ` +
              "which was not added to the job",
          );
        }
        dependencies.add(index);
      }
      return {
        name: snapshot.name,
        type: snapshot.type,
        priority: snapshot.priority,
        commands: snapshot.commands.map((command) => ({
          name: command.name,
          parameters: command.parameters,
          totalStepCount: command.totalStepCount,
        })),
        dependencies: Array.from(dependencies),
      };
    });
  }

  function collectJob(job) {
    if (!isPlainObject(job.settings)) throw new TypeError("job.settings must be an object");
    if (!isPlainObject(job.metadata)) throw new TypeError("job.metadata must be an object");
    const metadata = {};
    for (const key of objectKeys(job.metadata)) metadata[key] = asString(job.metadata[key]);
    return {
      name: asString(job.name),
      priority: asInteger(job.priority, "job.priority"),
      settings: job.settings,
      metadata: metadata,
      tasks: collectTasks(),
    };
  }

  // --------------------------------------------------------------- require
  //
  // CommonJS modules from the scripts folder, resolved like Node: relative
  // requests against the requiring module's folder, trying `.js`, `.json`,
  // `package.json` "main" and `index.js`; bare names in `node_modules`
  // folders. Module sources arrive from Python as a map of root-relative
  // paths, so nothing here touches the file system.

  const nativeModules = new Map([
    ["author", authorModule],
    ["path", pathModule],
    ["process", processModule],
  ]);

  function hasModule(id) {
    return id !== "" && Object.prototype.hasOwnProperty.call(state.modules, id);
  }

  // Resolves `.` and `..` in a root-relative path; null when it leaves the root.
  function normaliseModulePath(modulePath) {
    const parts = [];
    for (const part of modulePath.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (parts.length === 0) return null;
        parts.pop();
        continue;
      }
      parts.push(part);
    }
    return parts.join("/");
  }

  function moduleDirectory(id) {
    const slash = id.lastIndexOf("/");
    return slash < 0 ? "" : id.slice(0, slash);
  }

  function joinModulePath(directory, request) {
    return directory === "" ? request : `${directory}/${request}`;
  }

  function resolveFile(base) {
    for (const candidate of [base, `${base}.js`, `${base}.json`]) {
      if (hasModule(candidate)) return candidate;
    }
    return null;
  }

  function resolveDirectory(base) {
    const manifest = joinModulePath(base, "package.json");
    if (hasModule(manifest)) {
      let main = null;
      try {
        main = parseJson(state.modules[manifest]).main;
      } catch (error) {
        main = null;
      }
      if (typeof main === "string" && main !== "") {
        const target = normaliseModulePath(joinModulePath(base, main));
        if (target !== null) {
          const found = resolveFile(target) || resolveIndex(target);
          if (found !== null) return found;
        }
      }
    }
    return resolveIndex(base);
  }

  function resolveIndex(base) {
    return resolveFile(joinModulePath(base, "index"));
  }

  function resolveModule(fromDirectory, request) {
    const relative =
      request === "." || request === ".." || request.startsWith("./") || request.startsWith("../");
    if (relative) {
      const base = normaliseModulePath(joinModulePath(fromDirectory, request));
      if (base === null) return null;
      return resolveFile(base) || resolveDirectory(base);
    }
    if (request === "" || request.startsWith("/")) return null;
    let directory = fromDirectory;
    for (;;) {
      const base = normaliseModulePath(
        joinModulePath(joinModulePath(directory, "node_modules"), request),
      );
      if (base !== null) {
        const found = resolveFile(base) || resolveDirectory(base);
        if (found !== null) return found;
      }
      if (directory === "") return null;
      directory = moduleDirectory(directory);
    }
  }

  // Same encoding as the Python engine uses: V8 ignores a sourceURL with
  // whitespace or quotes in it, and error messages name the script by it.
  function sourceName(id) {
    return id.replace(/[\s"'%]/g, (character) => {
      const hex = character.charCodeAt(0).toString(16).toUpperCase();
      return `%${hex.padStart(2, "0")}`;
    });
  }

  function loadModule(id) {
    const cached = state.moduleCache.get(id);
    if (cached !== undefined) return cached.exports;
    const module = { id: id, filename: id, exports: {}, loaded: false };
    state.moduleCache.set(id, module);
    const source = state.modules[id];
    try {
      if (id.endsWith(".json")) {
        module.exports = parseJson(source);
      } else {
        // V8 only names code after a sourceURL comment that comes first (a
        // syntax error stops it reading further), so the module's lines are
        // one further down; the Python engine takes that line off again. The
        // wrapper shares the module's first line so nothing else shifts.
        const wrapper = indirectEval(
          `//# sourceURL=${sourceName(id)}\n` +
            "(function (exports, require, module, __filename, __dirname) {" +
            source +
            "\n})",
        );
        const directory = moduleDirectory(id);
        wrapper.call(module.exports, module.exports, makeRequire(directory), module, id, directory);
      }
    } catch (error) {
      state.moduleCache.delete(id);
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }

  function makeRequire(fromDirectory) {
    return function require(request) {
      const name = asString(request);
      const native = nativeModules.get(name);
      if (native !== undefined) return native;
      const id = resolveModule(fromDirectory, name);
      if (id === null) throw new Error(`require("${name}"): cannot find module`);
      return loadModule(id);
    };
  }

  // ---------------------------------------------------------- job type info
  //
  // The listing mirrors what upstream exports into its Go AvailableJobType
  // struct: known fields only, converted to their Go types. The etag is the
  // SHA-1 of the Go JSON encoding of that struct (with an empty etag), so we
  // build that exact text here: keys sorted, HTML characters escaped.

  function shapeError(message) {
    return { problem: `does not define a proper JOB_TYPE object: ${message}` };
  }

  function exportSetting(setting, index) {
    if (!isPlainObject(setting)) return shapeError(`settings[${index}] is not an object`);
    const out = {};
    if (isPresent(setting.choices)) {
      if (!isArray(setting.choices)) return shapeError(`settings[${index}].choices is not an array`);
      out.choices = setting.choices.map(asString);
    }
    const defaultValue = isPresent(setting.default) ? plainCopy(setting.default) : undefined;
    if (isPresent(defaultValue)) out.default = defaultValue;
    const description = isPresent(setting.description) ? plainCopy(setting.description) : undefined;
    if (isPresent(description)) out.description = description;
    if (isPresent(setting.editable)) out.editable = Boolean(setting.editable);
    if (isPresent(setting.eval)) out.eval = String(setting.eval);
    if (isPresent(setting.evalInfo)) {
      if (!isPlainObject(setting.evalInfo)) {
        return shapeError(`settings[${index}].evalInfo is not an object`);
      }
      out.evalInfo = {
        description: asString(setting.evalInfo.description),
        showLinkButton: Boolean(setting.evalInfo.showLinkButton),
      };
    }
    out.key = asString(setting.key);
    const label = isPresent(setting.label) ? plainCopy(setting.label) : undefined;
    if (isPresent(label)) out.label = label;
    if (isPresent(setting.propargs)) {
      if (!isPlainObject(setting.propargs)) {
        return shapeError(`settings[${index}].propargs is not an object`);
      }
      out.propargs = plainCopy(setting.propargs);
    }
    if (isPresent(setting.required)) out.required = Boolean(setting.required);
    if (isPresent(setting.subtype)) out.subtype = String(setting.subtype);
    out.type = asString(setting.type);
    if (isPresent(setting.visible)) out.visible = String(setting.visible);
    return { setting: out };
  }

  // Go's encoding/json: object keys sorted, and <, >, & and the two Unicode
  // line separators escaped.
  function goJson(value) {
    if (isArray(value)) return `[${value.map(goJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
      const members = objectKeys(value)
        .sort()
        .map((key) => `${stringify(key)}:${goJson(value[key])}`);
      return `{${members.join(",")}}`;
    }
    return stringify(value);
  }

  function goEscape(text) {
    return text.replace(/[<>&\u2028\u2029]/g, (character) => {
      return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
    });
  }

  function exportJobType(jobType, name) {
    if (!isPlainObject(jobType)) return shapeError("JOB_TYPE is not an object");
    let settings = null;
    if (isPresent(jobType.settings)) {
      if (!isArray(jobType.settings)) return shapeError("settings is not an array");
      settings = [];
      for (let index = 0; index < jobType.settings.length; index += 1) {
        const exported = exportSetting(jobType.settings[index], index);
        if (exported.problem !== undefined) return exported;
        settings.push(exported.setting);
      }
    }
    const info = { label: asString(jobType.label), name: name, settings: settings };
    if (isPresent(jobType.description)) info.description = String(jobType.description);
    const forEtag = Object.assign({ etag: "" }, info);
    // Extension (job graph), outside the etag so that it stays upstream's.
    if (isPresent(jobType.chain)) {
      const chain = exportChain(jobType.chain);
      if (chain.problem !== undefined) return chain;
      info.chain = chain.links;
    }
    return { info: info, etagSource: goEscape(goJson(forEtag)) };
  }

  // Our extension: JOB_TYPE.resourceLimits maps task types to the names of the farm-wide
  // resource limits (flamenco-manager.yaml's `resource_limits`) their tasks take while
  // they run. It stays out of the listing, so upstream clients and the etag never see it.
  function exportResourceLimits(jobType) {
    if (!isPresent(jobType.resourceLimits)) return { resourceLimits: {} };
    if (!isPlainObject(jobType.resourceLimits)) {
      return shapeError("resourceLimits is not an object of task type: [limit names]");
    }
    const resourceLimits = {};
    for (const taskType of objectKeys(jobType.resourceLimits)) {
      let names = jobType.resourceLimits[taskType];
      if (typeof names === "string") names = [names];
      if (!isArray(names) || names.some((name) => typeof name !== "string" || name === "")) {
        return shapeError(`resourceLimits[${stringify(taskType)}] is not a list of limit names`);
      }
      resourceLimits[taskType] = names.slice();
    }
    return { resourceLimits: resourceLimits };
}

  // JOB_TYPE.chain: the jobs the add-on submits instead of this one, in order, each
  // waiting for the one before it unless `dependsOn` names the earlier job types.
  function exportChain(chain) {
    if (!isArray(chain) || chain.length === 0) return shapeError("chain is not a non-empty array");
    const links = [];
    const seen = [];
    for (let index = 0; index < chain.length; index += 1) {
      const entry = typeof chain[index] === "string" ? { type: chain[index] } : chain[index];
      if (!isPlainObject(entry) || typeof entry.type !== "string" || entry.type === "") {
        return shapeError(`chain[${index}] is neither a job type name nor { type: ... }`);
      }
      const link = { type: entry.type };
      if (isPresent(entry.name)) link.name = String(entry.name);
      if (isPresent(entry.dependsOn)) {
        if (!isArray(entry.dependsOn)) return shapeError(`chain[${index}].dependsOn is not an array`);
        for (const earlier of entry.dependsOn) {
          if (!seen.includes(earlier)) {
            return shapeError(`chain[${index}].dependsOn names "${earlier}", which is not earlier in the chain`);
          }
        }
        link.dependsOn = entry.dependsOn.map(String);
      }
      seen.push(entry.type);
      links.push(link);
    }
    return { links: links };
  }

  // Looked up when called, so they resolve to the script's top-level bindings.
  function scriptGlobals() {
    return {
      jobType: typeof JOB_TYPE === "undefined" ? undefined : JOB_TYPE,
      compileJob: typeof compileJob === "undefined" ? undefined : compileJob,
    };
  }

  // ---------------------------------------------------------------- bridge

  function configure(host) {
    state.cwd = host.cwd;
    state.platform = host.platform;
    state.modules = Object.assign(Object.create(null), host.modules);
  }

  function describe(name) {
    const found = scriptGlobals();
    const result = {
      hasJobType: isPresent(found.jobType),
      hasCompileJob: typeof found.compileJob === "function",
      info: null,
      etagSource: null,
      resourceLimits: {},
      problem: null,
    };
    if (result.hasJobType) {
      const exported = exportJobType(found.jobType, name);
      const limits = isPlainObject(found.jobType) ? exportResourceLimits(found.jobType) : {};
      if (exported.problem !== undefined) {
        result.problem = exported.problem;
      } else if (limits.problem !== undefined) {
        result.problem = limits.problem;
      } else {
        result.info = exported.info;
        result.etagSource = exported.etagSource;
        result.resourceLimits = limits.resourceLimits;
      }
    }
    return stringify(result);
  }

  function compile(input) {
    const job = new Job(input);
    state.added = [];
    scriptGlobals().compileJob(job);
    return stringify(collectJob(job));
  }

  function takeOutput() {
    const taken = { lines: state.output, dropped: state.droppedOutput };
    state.output = [];
    state.droppedOutput = 0;
    return stringify(taken);
  }

  defineGlobal("print", print);
  defineGlobal("alert", alert);
  defineGlobal("frameChunker", frameChunker);
  defineGlobal("frameCount", frameCount);
  defineGlobal("formatTimestampLocal", formatTimestampLocal);
  defineGlobal("shellSplit", shellSplit);
  defineGlobal("author", authorModule);
  defineGlobal("path", pathModule);
  defineGlobal("process", processModule);
  defineGlobal("require", makeRequire(""));

  Object.defineProperty(global, "__flamencoBridge", {
    value: Object.freeze({ configure, describe, compile, takeOutput }),
    writable: false,
    configurable: false,
    enumerable: false,
  });
})(globalThis);
