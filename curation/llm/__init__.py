"""LLM assessments: a ReAct agent reads a document through tools and returns a checked verdict."""
