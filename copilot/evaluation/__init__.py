"""Replaying recorded dialogues through the pipeline and scoring what came back."""
