"""The task and job state machine: pure transition rules and the service that applies them."""
