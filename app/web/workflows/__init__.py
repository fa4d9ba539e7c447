"""The Studio: the workflows list, the builder canvas, and running a workflow from it."""
