"""The agentchat engine: sessions, patterns, LLM access, costs, storage. No UI imports."""
