"""Access control (off by default): who may call what, with tokens, roles and Worker enrolment."""
