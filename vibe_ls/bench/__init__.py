"""`vibe-ls bench`: our engine's speed, and the peers' on the same weights in the same run."""
