"""The optional LLM, on a leash: grounded rephrasing and validated judgement."""
