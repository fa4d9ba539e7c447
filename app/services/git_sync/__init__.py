"""Git sync: a project connected to a git remote commits project.yaml and its job files on
each save and pushes them in the background, and pulls in what others pushed there.

- `commands`: the git CLI in a throw-away working directory (secrets in 0600 temp files,
  never in a URL, a config file or a message);
- `remotes`: the connection people set up (URL, branch, auth) and its checks;
- `merge`: the three-way merge of project documents (base, Ferry's, git's);
- `sync`: push after a save, pull from git, and the two ways out of a conflict.
"""
