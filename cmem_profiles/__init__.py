"""cmem-profile: declarative LLM backend profiles for claude-mem."""

__version__ = "0.1.0"
