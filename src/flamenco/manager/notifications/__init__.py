"""Notifications: farm events recorded in a durable outbox, delivered to webhooks and email."""
