"""Reading a document a person pasted into a form's box or uploaded as a file (project.yaml
on the settings page, a Lightning project.yaml on the OpenFn import page): one set of rules
and messages for both."""

from __future__ import annotations

from flask_wtf import FlaskForm


def pasted_or_uploaded(form: FlaskForm, max_bytes: int, missing: str) -> str | None:
    """The text of `form.upload` when a file came (it also fills `form.document`, so the next
    submit sends it again), else of `form.document`; None, with the error on the field, when
    the form is invalid, the file is too large or not UTF-8, or nothing was given (`missing`
    says what to give)."""
    if not form.validate_on_submit():
        return None
    upload = form.upload.data
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            form.upload.errors.append("The file is too large for a project.yaml.")
            return None
        try:
            form.document.data = data.decode("utf-8")
        except UnicodeDecodeError:
            form.upload.errors.append("The file is not UTF-8 text: upload the project.yaml.")
            return None
    text = form.document.data or ""
    if not text.strip():
        form.document.errors.append(missing)
        return None
    return text
