"""Model access: the litellm client, the bundled local model, model choice."""
