"""Test support: the scripted OpenAI-compatible server (see ``openai_server``)."""
