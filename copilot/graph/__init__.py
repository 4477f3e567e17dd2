"""The call state machine: one LangGraph thread per call, one run per final transcript chunk."""
