// Code editors (ace): the step body in Python, the run panel's custom input in JSON.

let configured = false;

function configure() {
  if (configured) return;
  configured = true;
  // Modes load from the vendored folder, never from elsewhere.
  window.ace.config.set("basePath", document.getElementById("studio").dataset.aceBase);
  window.ace.config.set("loadWorkerFromBlob", false);
  // The content policy refuses injected <style> elements: ace's styles (core, search box,
  // the default textmate theme) come from the vendored css/ files builder.html links.
  window.ace.config.set("useStrictCSP", true);
}

/** An ace editor in `element` for `mode` ("python" or "json"). */
export function createEditor(element, mode, { readOnly = false, onChange = null } = {}) {
  configure();
  const editor = window.ace.edit(element, {
    mode: `ace/mode/${mode}`,
    useWorker: false,
    readOnly,
    showPrintMargin: false,
    tabSize: 4,
    useSoftTabs: true,
    fontSize: 13,
    wrap: mode === "json",
  });
  editor.renderer.setScrollMargin(4, 4);
  // Ctrl/Cmd+S and Ctrl/Cmd+Enter belong to the builder, not to ace.
  editor.commands.removeCommand("save", true);
  for (const name of ["blockoutdent", "removeline", "gotoline"]) editor.commands.removeCommand(name, true);
  editor.textInput.getElement().setAttribute("aria-label", element.getAttribute("aria-label") || `${mode} editor`);
  if (onChange) editor.session.on("change", () => { if (!editor.__settingValue) onChange(editor.getValue()); });
  return editor;
}

/** Replace the text without firing the change callback. */
export function setText(editor, text) {
  editor.__settingValue = true;
  editor.session.setValue(text || "");
  editor.__settingValue = false;
}

/** The line under the cursor and its number. */
export function currentLine(editor) {
  const row = editor.getCursorPosition().row;
  return { row, text: editor.session.getLine(row) };
}

/** Put `line` on row `row` (replacing it), or insert it as a new line after the cursor. */
export function putLine(editor, line, row = null) {
  const session = editor.session;
  if (row !== null) {
    const Range = window.ace.require("ace/range").Range;
    session.replace(new Range(row, 0, row, session.getLine(row).length), line);
    editor.gotoLine(row + 1, line.length, false);
    return;
  }
  const at = editor.getCursorPosition().row;
  const current = session.getLine(at);
  if (current.trim() === "") {
    const Range = window.ace.require("ace/range").Range;
    session.replace(new Range(at, 0, at, current.length), line);
    editor.gotoLine(at + 1, line.length, false);
  } else {
    session.insert({ row: at, column: current.length }, `\n${line}`);
    editor.gotoLine(at + 2, line.length, false);
  }
}
