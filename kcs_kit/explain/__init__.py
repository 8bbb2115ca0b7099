"""Evidence and narratives for a match (visual side-by-side so far; more with the explanations issue)."""
