"""The Textual app and the `agentchat` command line."""
