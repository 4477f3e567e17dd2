"""Finding the approved answer for what a customer said: dense + lexical, fused, thresholded."""
