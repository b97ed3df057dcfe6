"""The CLI's commands, one module per group, each imported only when its command runs
(see `pipeline.cli`): a command pays for the libraries it uses and no others."""
