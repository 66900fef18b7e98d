"""Trợ lý ảo dịch vụ công.

- `trolyao.core`: what runs for every message (the assistant, its Rasa agent and stores,
  settings, redaction, payload policy, in-process actions, speed settings);
- `trolyao.staff`: the maintainers' tools as functions and classes (report, answer tests,
  evaluation, review store, shell session); no argument parsing, no printing;
- `trolyao.serving`: starting a server (training the model, start-up checks, gunicorn);
- `trolyao.cli`: the `trolyao` command, the only place that parses arguments and prints.

Layers (enforced by import-linter, see `.importlinter`): cli → serving → webhook → staff →
core → knowledge.
"""
