"""The maintainers' tools as functions and classes: the to-do report, YAML answer tests,
evaluation, the review store and the shell session. No argument parsing, no printing: the
CLI (`trolyao.cli`) and the admin pages (`webhook.blueprints.admin`) present them."""
